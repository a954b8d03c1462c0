// Runs once before the whole jest run (plain JS: jest loads global setup outside its TypeScript
// transform). The suite needs a real Redis at REDIS_URL (test/support/redis.ts); when none answers, stop
// here with one line naming the address tried and how to fix it, instead of letting dozens of tests fail,
// or worse pass, one by one.
import { connect } from 'node:net';

export default async function globalSetup() {
  // Nothing may leave loopback: without this, any AWS SDK client built from the default credential chain
  // (the Terraform lock store, when a test does not point it at a stand-in) asks the EC2 instance metadata
  // service at the link-local 169.254.169.254. Jest's workers inherit this environment.
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const url = new URL(process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379');
  const host = url.hostname;
  const port = Number(url.port || 6379);
  const answered = await new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      socket.destroy();
      // +PONG, or an error that proves a Redis answered (auth is the client's job, not this check's).
      resolve(/^(\+PONG|-NOAUTH|-ERR)/.test(data.toString()));
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
  if (!answered) {
    throw new Error(
      `\n\n!!! The tests need a real Redis and none answers at ${host}:${port} (REDIS_URL). ` +
        `Start one (redis-server --port ${port}) or point REDIS_URL at one. !!!\n`,
    );
  }
}
