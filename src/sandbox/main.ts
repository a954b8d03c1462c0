// `npm run sandbox`: the whole flow on this machine, no accounts (see stack.ts for what starts).
//
//   npm run sandbox                                    the console, scenario `pass`
//   npm run sandbox -- --scenario trivy-fail           another scenario (src/sandbox/scenarios/*.json)
//   npm run sandbox -- --scenario pass --headless      play the story without a browser, exit 0 if it completed
//   npm run sandbox -- --port 4000                     the console on a fixed port
//   npm run sandbox -- --gates scenario                never run the real gates, even with the tools installed
//   npm run sandbox -- --list                          the scenarios
//
// Ctrl-C stops everything (the private redis-server too).
import { parseArgs } from 'node:util';
import { runHeadless } from './headless.js';
import {
  DEFAULT_SPEED,
  SandboxError,
  checkConsolePort,
  listScenarios,
  loadScenario,
  startSandbox,
  type Sandbox,
} from './stack.js';

// The AWS SDK warns at the first client that its releases after January 2027 need Node 22; the sandbox
// uses it only against its local stand-ins, so the warning would only clutter the banner.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: npm run sandbox -- [--scenario <name>] [--headless] [--port <n>] [--gates auto|scenario] [--speed <x>] [--list]
scenarios: ${listScenarios().join(', ')}`;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string', short: 's', default: 'pass' },
        headless: { type: 'boolean', default: false },
        port: { type: 'string' },
        gates: { type: 'string', default: 'auto' },
        speed: { type: 'string' },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.list) {
    for (const name of listScenarios()) console.log(`${name.padEnd(12)} ${loadScenario(name).description}`);
    return 0;
  }
  const port = args.port === undefined ? undefined : Number(args.port);
  const speed = args.speed === undefined ? undefined : Number(args.speed);
  if (
    (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) ||
    (speed !== undefined && !(speed > 0)) ||
    (args.gates !== 'auto' && args.gates !== 'scenario')
  ) {
    console.error(`invalid --port, --speed or --gates\n${USAGE}`);
    return 2;
  }

  const scenario = loadScenario(args.scenario ?? 'pass');
  if (args.headless) {
    return runHeadless({ scenario, gates: args.gates, ...(speed ? { speed } : {}) });
  }

  // A busy --port is one line, before anything starts (startSandbox says the same if it is taken meanwhile).
  if (port !== undefined) await checkConsolePort(port);

  const started = Date.now();
  console.log(`Starting the sandbox (scenario ${scenario.name}) …`);
  const sandbox = await startSandbox({
    scenario,
    gates: args.gates,
    ...(port === undefined ? {} : { consolePort: port }),
    ...(speed ? { speed } : {}),
    // The real Kargo controller when the pinned tools are installed, else the simulator (the banner says which).
    kargo: 'auto',
    notice: (line) => console.log(`  · ${line}`),
  });
  console.log(banner(sandbox, (Date.now() - started) / 1000, speed ?? DEFAULT_SPEED));

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        console.log(`\n${signal} again: exiting now.`);
        process.exit(130);
      }
      stopping = true;
      console.log('\nStopping the sandbox …');
      const force = setTimeout(() => {
        console.error('the sandbox did not stop within 20 s: exiting anyway');
        process.exit(1);
      }, 20_000);
      force.unref();
      void sandbox.stop().then(() => {
        clearTimeout(force);
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  console.log('Stopped.');
  return 0;
}

function banner(s: Sandbox, seconds: number, speed: number): string {
  const u = s.users;
  const gates = s.gatesNow();
  const lock = s.scenario.staleLock;
  return [
    '',
    `gitops-infra-pipeline sandbox is up (${seconds.toFixed(1)} s) — scenario ${s.scenario.name}`,
    `  ${s.scenario.description}`,
    '',
    `  Console   ${s.consoleUrl}   ← open this in a browser`,
    `  Users     ${u.requester.name} (requester) · ${u.approver.name} and ${u.secondApprover.name} (approvers) · ${u.outsider.name} (outsider): switch at the top`,
    '',
    '  Try, in #infra-deployments:',
    '    /freight                 the newest freight from this repository’s commits, and where each stands',
    s.kargoMode === 'real'
      ? '    /promote dev             the newest freight to dev (Kargo auto-promoted it once at start): watch its card (Kargo checks the run every 30 s)'
      : '    /promote dev             the newest freight to dev: watch its card fill in live (a run takes ~30 s)',
    '    /promote prod <alias>    freight verified in dev to prod (alice or bob; olivia is refused)',
    s.scenario.approval
      ? `    ${'then, as bob'.padEnd(25)}Approve on the prod card (alice may not approve her own promotion)`
      : undefined,
    lock
      ? `    ${`/unlock ${lock.environment}`.padEnd(25)}a stale state lock left by a crashed run: look, then release it`
      : undefined,
    '    then #infra-alerts for failures, #infra-audit for everything the bot recorded',
    '',
    `  Kargo     ${s.kargoMode === 'real' ? 'REAL controller' : 'SIMULATOR'}: ${s.kargoDetail}`,
    `  Gates     ${gates.detail}`,
    `  Stand-ins Slack ${s.slack.url} · GitHub ${s.github.url} (jobs ${speed}× faster than on GitHub, on the wall clock) · Kargo ${kubeServer(s)}`,
    `            DynamoDB ${s.dynamodbEndpoint} · S3 ${s.s3.endpoint}`,
    `  Redis     ${s.privateRedis ? `${s.redisUrl} (private redis-server, nothing saved)` : `${redactUrl(s.redisUrl)} (REDIS_URL)`}`,
    `  Bot       web ${s.botUrl} · worker ${s.workerUrl} · kubeconfig ${s.kubeconfigPath}`,
    `  Logs      ${s.logFile}`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ]
    .filter((line): line is string => line !== undefined)
    .join('\n');
}

const kubeServer = (s: Sandbox): string => /server: (\S+)/.exec(s.kargo.kubeconfigYaml)?.[1] ?? 'in-process';

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'REDIS_URL';
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof SandboxError) console.error(`sandbox: ${err.message}`);
    else console.error('sandbox: could not start:', err);
    process.exit(1);
  },
);
