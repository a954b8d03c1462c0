// Entry point: `node dist/main.js web | worker | all`.
//   web     Slack commands and actions, the GitHub webhook, /healthz /readyz /metrics
//   worker  queue workers, the Kargo watch, Slack posting and the audit mirror
//   all     both in one process, for small installs
import { ConfigError, loadConfig } from './config/load.js';
import { createLogger } from './logging.js';
import { createMetrics } from './metrics.js';
import type { RunningProcess } from './processes/web.js';

type Role = 'web' | 'worker' | 'all';
const ROLES: readonly Role[] = ['web', 'worker', 'all'];

async function main(argv: string[]): Promise<void> {
  const role = (argv[0] ?? 'all') as Role;
  if (!ROLES.includes(role)) {
    console.error(`usage: main.js web | worker | all   (got '${argv[0] ?? ''}')`);
    process.exit(2);
  }
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, secrets: config.secrets, name: `chatops-${role}` });
  const metrics = createMetrics(role);
  const running: RunningProcess[] = [];
  // Each role loads only its own modules: the web process never pays for the worker's Kubernetes, AWS and
  // GitHub clients (about 60 MB of resident memory).
  if (role === 'web' || role === 'all') {
    const { startWeb } = await import('./processes/web.js');
    running.push(await startWeb(config, logger, { metrics }));
  }
  if (role === 'worker' || role === 'all') {
    const { startWorker } = await import('./processes/worker.js');
    running.push(await startWorker(config, logger, { metrics }));
  }

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    void Promise.allSettled(running.map((r) => r.stop())).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error('fatal:', error);
  process.exit(1);
});
