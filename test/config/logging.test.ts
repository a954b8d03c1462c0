import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { REDACTED, createLogger } from '../../src/logging.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  const token = 'xoxb-1234-5678-supersecretvalue';
  const key = '-----BEGIN RSA PRIVATE KEY-----MIIEabc';

  it('never writes a configured secret, wherever it appears', async () => {
    const { lines, stream } = capture();
    const logger = createLogger({ secrets: [token, key], destination: stream, level: 'debug' });
    logger.info(`calling Slack with ${token}`);
    logger.warn(
      { request: { url: `https://slack.com/api/auth.test?token=${token}` }, nested: [{ deep: key }] },
      'nested',
    );
    logger.error({ err: new Error(`401 for token ${token}`) }, 'failed');
    logger.info({ headers: { authorization: 'Bearer abc.def.ghi' }, botToken: 'anything' }, 'headers');
    await new Promise((r) => setImmediate(r));
    const all = lines.join('');
    expect(lines).toHaveLength(4);
    expect(all).not.toContain(token);
    expect(all).not.toContain(key);
    expect(all).not.toContain('abc.def.ghi');
    expect(all.split(REDACTED).length - 1).toBeGreaterThanOrEqual(5);
  });

  it('keeps ordinary fields readable', async () => {
    const { lines, stream } = capture();
    createLogger({ secrets: [token], destination: stream }).info(
      { cardId: 'req-1', environment: 'prod' },
      'promotion queued',
    );
    await new Promise((r) => setImmediate(r));
    expect(JSON.parse(lines[0]!)).toMatchObject({
      cardId: 'req-1',
      environment: 'prod',
      msg: 'promotion queued',
    });
  });
});
