// The whole product on one machine, with no accounts: `startSandbox()` starts Redis (a private
// redis-server unless a URL is given), the Slack, GitHub and Kargo stand-ins, dynalite and the S3 stand-in
// holding the Terraform state locks, the bot's web and worker processes (unchanged, configured through
// loadConfig exactly as in production, only pointed at the stand-ins), and the browser console. It returns
// every URL and handle and one stop(). Used by `npm run sandbox` (main.ts), the headless story runner
// (headless.ts) and the browser test (test/e2e/story.e2e.test.ts).
//
//   Slack console (browser) ──signed requests──► bot web ──► Redis ◄── bot worker ──► Slack stand-in
//                                                   ▲                      │
//   GitHub stand-in ──signed webhooks───────────────┘                      ├──► Kargo stand-in (kubeconfig)
//        ▲  runs this repo's workflow (.github/workflows/terraform.yaml)   │        │ Stages' http steps
//        └──────────────── workflow_dispatch / GET run ◄───────────────────┼────────┘ (Kargo simulator)
//                                                                          └──► dynalite + S3 stand-in (/unlock)
//
// What a run does comes from a sandbox scenario (scenarios/<name>.json: environment → GitHub scenario,
// whether a stale state lock exists, what the story must reach). Gate outcomes come from running the real
// gates (`npx tsx scripts/gates.ts`) once when the pinned tools are installed; the scenario decides
// whatever it scripts explicitly (so a failure path can always be shown) and whatever the tools cannot run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { createConnection, createServer as createNetServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { GateResult } from '../artifacts/types.js';
import { validateArtifact } from '../artifacts/validate.js';
import { loadConfig, type Config } from '../config/load.js';
import type { Environment } from '../domain/types.js';
import {
  TERRAFORM_BACKENDS,
  digestItemId,
  lockItemId,
  lockObjectKey,
  marshalLockInfo,
  rfc3339Nano,
  type LockInfo,
} from '../locks/types.js';
import { createLogger, type Logger } from '../logging.js';
import { startWeb } from '../processes/web.js';
import { startWorker } from '../processes/worker.js';
import { startConsole, type ConsoleUser } from './console/server.js';
import { GITHUB_PAGES_PREFIX, githubPages } from './console/github-pages.js';
import {
  defaultArtifactJson,
  scenarioNamed,
  type ArtifactContext,
  type ArtifactScript,
  type JobScript,
  type Scenario,
} from './github-scenarios.js';
import { DEFAULT_STANDIN_PAT, GithubStandIn } from './github-standin.js';
import { realKargoMissing, startRealKargo, type RealKargo } from './kargo-real.js';
import { startKargoSandbox, type KargoSandbox } from './kargo-simulator.js';
import { startS3StandIn, type S3StandIn } from './s3-standin.js';
import { SlackStandIn } from './slack-standin.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..');
export const SCENARIO_DIR = path.join(here, 'scenarios');

// ── the cast ─────────────────────────────────────────────────────────────────────────────────────

/**
 * The people of the story: who asks, two who may approve (four-eyes on prod needs someone other than the
 * requester, and the bot refuses an approver list of one), and who may do neither.
 */
export const SANDBOX_USERS = {
  requester: { id: 'U0ALICE', name: 'alice', realName: 'Alice Andersen', role: 'requester' },
  approver: { id: 'U0BOB', name: 'bob', realName: 'Bob Berger', role: 'approver' },
  secondApprover: { id: 'U0CAROL', name: 'carol', realName: 'Carol Chen', role: 'approver' },
  outsider: { id: 'U0OLIVIA', name: 'olivia', realName: 'Olivia Ortiz', role: 'outsider' },
} as const satisfies Record<string, ConsoleUser & { realName: string }>;

export const SANDBOX_CHANNELS = {
  deployments: { id: 'C0DEPLOYS', name: 'infra-deployments' },
  alerts: { id: 'C0ALERTS', name: 'infra-alerts' },
  audit: { id: 'C0AUDIT', name: 'infra-audit' },
} as const;

const BOT = { userId: 'U0CHATOPS', botId: 'B0CHATOPS', appId: 'A0CHATOPS', name: 'chatops' };
const GITHUB = { owner: 'acme', repo: 'gitops-infra-pipeline', appId: '424242', installationId: 5_550_001 };

/**
 * Duration of each job of the workflow on a GitHub-hosted runner. The sandbox plays them `speed` times
 * faster (default 15×): a dev run (policy → aws gates → aws dev apply → notify, ~6.7 min) takes about 27 s
 * and a prod run (~7.9 min) about 32 s: live enough to watch, short enough to wait for. The jobs are
 * shortened, not the clock: the GitHub stand-in's clock is the wall clock, so every time GitHub reports
 * (a job's start, a deployment waiting for approval) is a time that has passed, the same clock the bot,
 * Kargo and Slack use, and a job's duration on the card is the time it really took.
 */
const JOB_DURATIONS_MS: Readonly<Record<string, number>> = {
  policy: 75_000,
  aws: 120_000,
  gcp: 100_000,
  azure: 100_000,
  'aws-dev': 200_000,
  'gcp-plan': 90_000,
  'azure-plan': 90_000,
  'prod-gates': 150_000,
  'aws-prod': 240_000,
  notify: 8_000,
};
export const DEFAULT_SPEED = 15;

// ── scenarios ────────────────────────────────────────────────────────────────────────────────────

const githubScenarioName = z.string().refine(
  (name) => {
    try {
      scenarioNamed(name);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a scenario of src/sandbox/github-scenarios.ts' },
);

const sandboxScenarioSchema = z
  .object({
    description: z.string().min(1),
    /** The GitHub stand-in scenario each environment's runs play (src/sandbox/github-scenarios.ts). */
    github: z.object({ dev: githubScenarioName, prod: githubScenarioName }).strict(),
    /**
     * true = GitHub Environment `prod` is protected by the bot's App: prod runs wait until a second person
     * approves on the card, and the story includes that step (TODO(approvals): off in pass.json for now).
     */
    approval: z.boolean().default(false),
    /**
     * A scheduled drift check (.github/workflows/drift.yaml) fires once the bot is up and plays this GitHub
     * stand-in scenario (src/sandbox/github-scenarios.ts, e.g. `drift-dev`).
     */
    drift: githubScenarioName.optional(),
    /** A Terraform state lock left behind by a crashed run, written in Terraform's formats at start. */
    staleLock: z
      .object({
        environment: z.enum(['dev', 'prod']),
        who: z.string().min(1),
        operation: z.string(),
        ageMinutes: z.number().positive(),
      })
      .strict()
      .nullable()
      .default(null),
    /** What the headless story and the browser test must reach. */
    story: z
      .object({
        dev: z.enum(['succeeded', 'failed']).optional(),
        prod: z.enum(['succeeded', 'failed']).optional(),
        /** A failure alert in #infra-alerts must mention this (the failed job). */
        alert: z.string().optional(),
        /** /unlock this environment: the stale lock is shown, confirmed and released. */
        unlock: z.enum(['dev', 'prod']).optional(),
        /** The drift check finds drift here: exactly one drift card in #infra-alerts, and /drift shows it. */
        drift: z.enum(['dev', 'prod']).optional(),
        /**
         * Control of this environment after dev: /status, an approver's /freeze refuses the requester's
         * /promote, /status and the Home tab show the freeze, /unfreeze ends it; at the end /rollback.
         */
        control: z.enum(['dev', 'prod']).optional(),
      })
      .strict(),
  })
  .strict();

export type SandboxScenario = z.infer<typeof sandboxScenarioSchema> & { name: string; file: string };

export function listScenarios(): string[] {
  if (!existsSync(SCENARIO_DIR)) return [];
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** Loads src/sandbox/scenarios/<name>.json, or a path to a scenario file. Throws with what is wrong. */
export function loadScenario(nameOrPath: string): SandboxScenario {
  const file =
    nameOrPath.includes('/') || nameOrPath.endsWith('.json')
      ? path.resolve(nameOrPath)
      : path.join(SCENARIO_DIR, `${nameOrPath}.json`);
  if (!/^[\w./-]+$/.test(nameOrPath) || !existsSync(file)) {
    throw new SandboxError(
      `unknown scenario "${nameOrPath}" (known: ${listScenarios().join(', ')}; or give the path of a scenario file)`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SandboxError(`scenario file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = sandboxScenarioSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new SandboxError(`scenario file ${file} is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  return { ...parsed.data, name: path.basename(file, '.json'), file };
}

/** A problem the user can fix (shown without a stack trace). */
export class SandboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxError';
  }
}

/** Where the console listens (loopback only). */
export const CONSOLE_HOST = '127.0.0.1';

/** The one line a busy console port gets. */
export const portInUseMessage = (port: number): string =>
  `port ${port} on ${CONSOLE_HOST} is already in use: stop what listens there, or choose another with --port (--port 0 picks a free one)`;

const isAddressInUse = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EADDRINUSE';

/** Throws SandboxError (portInUseMessage) when the console could not listen on `port`; 0 is always free. */
export async function checkConsolePort(port: number): Promise<void> {
  if (port === 0) return;
  const probe = createNetServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, CONSOLE_HOST, () => resolve());
    });
  } catch (err) {
    if (isAddressInUse(err)) throw new SandboxError(portInUseMessage(port));
    throw err;
  } finally {
    await new Promise<void>((resolve) => (probe.listening ? probe.close(() => resolve()) : resolve()));
  }
}

// ── options and handles ──────────────────────────────────────────────────────────────────────────

export interface SandboxOptions {
  /** Scenario name (src/sandbox/scenarios/<name>.json) or a loaded scenario. Default `pass`. */
  scenario?: string | SandboxScenario;
  /** Use this Redis instead of starting a private redis-server. Default: process.env.REDIS_URL. */
  redisUrl?: string;
  /** How many times faster than on GitHub the workflow's jobs run (JOB_DURATIONS_MS). Default 15. */
  speed?: number;
  /** `auto`: real gate results when the pinned tools are installed (default); `scenario`: never run them. */
  gates?: 'auto' | 'scenario';
  /** Console port on 127.0.0.1. Default 0 (a free port). */
  consolePort?: number;
  /** The bot's log level. Default process.env.LOG_LEVEL or `info`. */
  logLevel?: string;
  /** Where the bot's logs go. Default .cache/sandbox/<scenario>.log (git-ignored). */
  logFile?: string;
  /** Progress lines for a person (gate results ready, runs started before they were...). */
  notice?: (line: string) => void;
  /**
   * Which Kargo runs: `real` = the real Kargo v1.11.2 controller on a local kube-apiserver (needs the pinned
   * tools: npm run tools:install), `simulator` = the in-process stand-in and controller simulator, `auto` =
   * real when the tools are installed, else the simulator. Default `simulator` (`npm run sandbox` asks for
   * `auto`; the headless story and the browser test are written for the simulator's pace).
   */
  kargo?: KargoChoice;
}

export type KargoChoice = 'auto' | 'real' | 'simulator';

export type GateSourceKind = 'real' | 'scenario';

export interface GateSource {
  kind: GateSourceKind;
  /** One line for a person: which source, and why. */
  detail: string;
  /** Real results by local name (gate-<gate>-<cloud>-<environment>), usable ones only. */
  results: ReadonlyMap<string, GateResult>;
}

export interface Sandbox {
  scenario: SandboxScenario;
  /** http://127.0.0.1:<port>/ */
  consoleUrl: string;
  /** The bot's web process (Slack requests, GitHub webhooks). */
  botUrl: string;
  workerUrl: string;
  redisUrl: string;
  /** True when the sandbox started its own redis-server. */
  privateRedis: boolean;
  kubeconfigPath: string;
  logFile: string;
  signingSecret: string;
  users: typeof SANDBOX_USERS;
  channels: typeof SANDBOX_CHANNELS;
  config: Config;
  slack: SlackStandIn;
  github: GithubStandIn;
  /** The real control plane (`mode: 'real'`) or the simulator's stand-in. */
  kargo: KargoSandbox | RealKargo;
  /** Which Kargo runs, and one line for a person saying which and why. */
  kargoMode: 'real' | 'simulator';
  kargoDetail: string;
  s3: S3StandIn;
  dynamodbEndpoint: string;
  /** Settles once the gate source is known (immediately for `scenario`, after the gates ran for `real`). */
  gates: Promise<GateSource>;
  /** The gate source as known now (`pending` while the real gates run). */
  gatesNow(): GateSource | { kind: 'pending'; detail: string };
  stop(): Promise<void>;
}

// ── start ────────────────────────────────────────────────────────────────────────────────────────

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const scenario =
    typeof options.scenario === 'object' ? options.scenario : loadScenario(options.scenario ?? 'pass');
  const notice = options.notice ?? (() => undefined);
  const stoppers: Array<{ what: string; stop: () => Promise<void> | void }> = [];
  const onStop = (what: string, stop: () => Promise<void> | void): void => {
    stoppers.push({ what, stop });
  };
  let logger: Logger | undefined;
  const stopAll = async (): Promise<void> => {
    for (const { what, stop } of stoppers.reverse()) {
      try {
        await stop();
      } catch (err) {
        logger?.warn({ err, what }, 'sandbox: stopping failed');
      }
    }
    stoppers.length = 0;
  };

  try {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'gitops-sandbox-'));
    onStop('temporary directory', () => rmSync(tmp, { recursive: true, force: true }));

    const logFile = options.logFile ?? path.join(REPO_ROOT, '.cache', 'sandbox', `${scenario.name}.log`);
    mkdirSync(path.dirname(logFile), { recursive: true });
    const logStream = createWriteStream(logFile, { flags: 'w' });
    onStop('log file', () => new Promise<void>((resolve) => logStream.end(() => resolve())));

    // Fresh secrets per start: the bot listens on 127.0.0.1 only (HOST's default), and even another user of
    // this machine cannot get a request past the signature check without the console's secret.
    const signingSecret = randomBytes(24).toString('hex');
    const webhookSecret = randomBytes(24).toString('hex');
    const appKeys = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });

    // Redis, the stand-ins and the lock stores do not depend on each other: start them together.
    const externalRedis = options.redisUrl ?? process.env.REDIS_URL?.trim();
    const gateSource = new GateSourceTracker(options.gates ?? 'auto', notice);
    const starting = {
      redis: externalRedis
        ? Promise.resolve<RunningRedis>({ url: externalRedis, private: false, stop: async () => undefined })
        : startPrivateRedis(tmp),
      slack: SlackStandIn.start({
        bot: BOT,
        team: { id: 'T0SANDBOX', name: 'Sandbox Workspace', domain: 'sandbox' },
        channels: Object.values(SANDBOX_CHANNELS).map((c) => ({ id: c.id, name: c.name })),
        users: Object.values(SANDBOX_USERS).map((u) => ({
          id: u.id,
          name: u.name,
          realName: u.realName,
          tz: 'Europe/Berlin',
        })),
        // Slack's documented limits stay on: the bot's notifier is built to live with them.
      }),
      github: GithubStandIn.start({
        owner: GITHUB.owner,
        repo: GITHUB.repo,
        app: { id: GITHUB.appId, publicKey: appKeys.publicKey, installationId: GITHUB.installationId },
        // The wall clock (see JOB_DURATIONS_MS): `speed` shortens the jobs instead.
        speed: 1,
        // `"approval": true` in the scenario: Environment prod is protected by the bot's GitHub App (custom
        // deployment protection rule), so a prod run waits for an Approve click from a second person.
        // TODO(approvals): pass.json keeps `"approval": false` until the lead enables the step.
        ...(scenario.approval ? { environments: { prod: { customRule: true } } } : {}),
        defaultScenario: (inputs) =>
          githubScenarioFor(scenario, inputs.environment === 'prod' ? 'prod' : 'dev', gateSource, notice, {
            speed: options.speed ?? DEFAULT_SPEED,
          }),
      }),
      aws: startLocalAws(),
    };
    // The console starts before Kargo and the bot (it sends nothing until the bot is up): its address is
    // where every link of the sandbox points — the runs and jobs GitHub links, and the commits.
    const bot: { url?: string } = {};
    const consoleStarting = Promise.all([starting.slack, starting.github]).then(async ([slack, gh]) => {
      const started = await startConsole({
        host: CONSOLE_HOST,
        slack,
        botUrl: () => bot.url,
        signingSecret,
        users: Object.values(SANDBOX_USERS),
        channels: SANDBOX_CHANNELS,
        bot: { userId: BOT.userId, name: BOT.name },
        workspaceName: 'gitops-infra sandbox',
        pages: githubPages({
          run: (id) => gh.run(id),
          now: () => gh.now(),
          repoDir: REPO_ROOT,
          owner: GITHUB.owner,
          repo: GITHUB.repo,
        }),
        ...(options.consolePort === undefined ? {} : { port: options.consolePort }),
      }).catch((err: unknown) => {
        // Taken since main.ts looked (or a caller's port): the same one line.
        throw isAddressInUse(err) && options.consolePort
          ? new SandboxError(portInUseMessage(options.consolePort))
          : err;
      });
      gh.setPagesUrl(new URL(GITHUB_PAGES_PREFIX, started.url).toString());
      return started;
    });
    const kargoPick = pickKargo(options.kargo ?? 'simulator');
    const kargoStarting = consoleStarting.then(async (consoleServer): Promise<KargoSandbox | RealKargo> => {
      const gh = await starting.github;
      return kargoPick.mode === 'real'
        ? startRealKargo({
            githubApiUrl: gh.url,
            token: DEFAULT_STANDIN_PAT,
            notice,
            // Commit links name the loopback git server; it sends them on to the console's commit pages.
            commitPage: (sha) =>
              new URL(
                `${GITHUB_PAGES_PREFIX}/${GITHUB.owner}/${GITHUB.repo}/commit/${sha}`,
                consoleServer.url,
              ).toString(),
          })
        : startKargoSandbox({
            // Commit links open the console's commit pages (Freight is still made from this repository).
            repoURL: new URL(
              `${GITHUB_PAGES_PREFIX}/${GITHUB.owner}/${GITHUB.repo}.git`,
              consoleServer.url,
            ).toString(),
            // The Stages name https://api.github.com; the simulator sends their http steps here instead (and
            // never to the internet). Kargo's Secret (kargo/secret.example.yaml) holds a PAT; the bot uses an App.
            githubApiUrl: gh.url,
            secrets: { github: { token: DEFAULT_STANDIN_PAT } },
            pollIntervalMs: 1_500,
            freightCount: 5,
            // The story is driven from Slack: nothing is promoted until someone asks.
            autoPromotion: false,
          });
    });
    // Register each stopper as soon as its part is up, so a failure elsewhere leaves nothing running.
    const started = await Promise.allSettled([
      starting.redis.then((r) => (onStop('redis', () => r.stop()), r)),
      starting.slack.then((r) => (onStop('Slack stand-in', () => r.close()), r)),
      starting.github.then((r) => (onStop('GitHub stand-in', () => r.stop()), r)),
      starting.aws.then((r) => (onStop('local AWS', () => r.close()), r)),
      consoleStarting.then((r) => (onStop('console', () => r.close()), r)),
      kargoStarting.then((r) => (onStop('Kargo stand-in', () => r.stop()), r)),
    ]);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const redis = await starting.redis;
    const slack = await starting.slack;
    const github = await starting.github;
    const aws = await starting.aws;
    const kargo = await kargoStarting;

    const kubeconfigPath = path.join(tmp, 'kubeconfig.yaml');
    await writeFile(kubeconfigPath, kargo.kubeconfigYaml, { mode: 0o600 });

    if (scenario.staleLock) await aws.writeStaleLock(scenario.staleLock);

    // The bot's AWS SDK clients take credentials from the default chain only (never from configuration).
    // The local dynalite and S3 stand-in do not check them but the SDK will not sign without any, so dummy
    // keys go into THIS process's environment, and only while the sandbox runs: they must never be real
    // keys, and real ones (from the user's shell) must never be sent to the stand-ins.
    const restoreAwsEnv = useLocalAwsCredentials();
    onStop('AWS credentials', restoreAwsEnv);

    const prefix = externalRedis ? `sandbox-${randomBytes(4).toString('hex')}` : 'chatops';
    const u = SANDBOX_USERS;
    const config = loadConfig({
      SLACK_MODE: 'http',
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_API_URL: slack.apiUrl,
      SLACK_BOT_USER_ID: BOT.userId,
      SLACK_BOT_ID: BOT.botId,
      SLACK_CHANNEL_DEPLOYMENTS: SANDBOX_CHANNELS.deployments.id,
      SLACK_CHANNEL_ALERTS: SANDBOX_CHANNELS.alerts.id,
      SLACK_CHANNEL_AUDIT: SANDBOX_CHANNELS.audit.id,
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      KARGO_PROJECT: kargo.project,
      KUBECONFIG: kubeconfigPath,
      GITHUB_REPOSITORY: `${GITHUB.owner}/${GITHUB.repo}`,
      GITHUB_API_URL: github.url,
      GITHUB_APP_ID: GITHUB.appId,
      GITHUB_APP_PRIVATE_KEY: appKeys.privateKey,
      GITHUB_APP_INSTALLATION_ID: String(GITHUB.installationId),
      GITHUB_WEBHOOK_SECRET: webhookSecret,
      AWS_REGION: 'us-east-1',
      LOCKS_DYNAMODB_ENDPOINT: aws.dynamodbEndpoint,
      LOCKS_S3_ENDPOINT: aws.s3.endpoint,
      PROMOTE_PROD_USERS: `${u.requester.id},${u.approver.id}`,
      APPROVE_PROD_USERS: `${u.approver.id},${u.secondApprover.id}`,
      // Approvers of dev may freeze it (and override its freeze); dev deployments need no approval.
      APPROVE_DEV_USERS: `${u.approver.id},${u.secondApprover.id}`,
      UNLOCK_DEV_USERS: `${u.requester.id},${u.approver.id}`,
      // Approvals through the App's protection rule (reviewer mode would need /approve link + device flow).
      APPROVAL_MODE: 'protection-rule',
      LOG_LEVEL: options.logLevel ?? process.env.LOG_LEVEL ?? 'info',
    });
    logger = createLogger({
      level: config.logLevel,
      secrets: [...config.secrets, signingSecret, webhookSecret],
      destination: logStream,
      name: `sandbox-${scenario.name}`,
    });
    const log = logger;
    if (externalRedis) onStop('Redis keys', () => deleteKeys(redis.url, prefix));

    const worker = await startWorker(config, logger.child({ process: 'worker' }), { port: 0 });
    onStop('bot worker', () => worker.stop());
    const web = await startWeb(config, logger.child({ process: 'web' }), { port: 0, metricsPort: 0 });
    onStop('bot web', () => web.stop());
    const botUrl = `http://127.0.0.1:${web.port}`;
    bot.url = botUrl;
    const consoleServer = await consoleStarting;
    github.setWebhook({ url: `${botUrl}/github/webhook`, secret: webhookSecret });
    // The drift workflow's schedule fires (scenario `drift`): the bot reads the run's drift artifacts.
    if (scenario.drift) github.startDriftRun({ scenario: scenarioNamed(scenario.drift) });

    gateSource.start(log);
    running += 1;
    onStop('gates', () => {
      gateSource.stop();
      running -= 1;
      if (running === 0 && gatesChild?.exitCode === null) {
        // Nobody waits for them any more; the next sandbox of this process runs them again.
        try {
          if (gatesChild.pid) process.kill(-gatesChild.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        realGatesRun = undefined;
      }
    });

    let stopped: Promise<void> | undefined;
    return {
      scenario,
      consoleUrl: consoleServer.url,
      botUrl,
      workerUrl: `http://127.0.0.1:${worker.port}`,
      redisUrl: redis.url,
      privateRedis: redis.private,
      kubeconfigPath,
      logFile,
      signingSecret,
      users: SANDBOX_USERS,
      channels: SANDBOX_CHANNELS,
      config,
      slack,
      github,
      kargo,
      kargoMode: kargoPick.mode,
      kargoDetail: kargoPick.mode === 'real' && 'detail' in kargo ? kargo.detail : kargoPick.detail,
      s3: aws.s3,
      dynamodbEndpoint: aws.dynamodbEndpoint,
      gates: gateSource.settled,
      gatesNow: () => gateSource.current(),
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

// ── Kargo: the real controller or the simulator ──────────────────────────────────────────────────

function pickKargo(choice: KargoChoice): { mode: 'real' | 'simulator'; detail: string } {
  const simulator = 'the Kargo simulator (in-process stand-in of the Kubernetes API and the controller)';
  if (choice === 'simulator') return { mode: 'simulator', detail: simulator };
  const missing = realKargoMissing();
  if (missing.length === 0) return { mode: 'real', detail: 'the real Kargo controller' };
  if (choice === 'real') {
    throw new SandboxError(`the real Kargo controller needs ${missing.join('; ')}`);
  }
  return {
    mode: 'simulator',
    detail: `${simulator}; the real controller needs ${missing.join('; ')}`,
  };
}

// ── Redis ────────────────────────────────────────────────────────────────────────────────────────

export const REDIS_MISSING =
  'redis-server is not installed: install it with apt-get install redis-server, or set REDIS_URL';

interface RunningRedis {
  url: string;
  private: boolean;
  stop(): Promise<void>;
}

// The guard shell: redis-server runs as its child; when the shell's stdin reaches EOF (we closed it, or
// this Node process died in any way, even SIGKILL) it stops redis-server and waits for it. No orphan.
const REDIS_GUARD = '"$@" & pid=$!; read -r _; kill -TERM "$pid" 2>/dev/null; wait "$pid"';

async function startPrivateRedis(dir: string): Promise<RunningRedis> {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error) throw new SandboxError(REDIS_MISSING);
  let lastLog = '';
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    const logPath = path.join(dir, `redis-${port}.log`);
    const child = spawn(
      'sh',
      [
        '-c',
        REDIS_GUARD,
        'redis-guard',
        'redis-server',
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--protected-mode',
        'yes',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--logfile',
        logPath,
        '--daemonize',
        'no',
      ],
      // Its own process group: Ctrl-C in the terminal reaches only us, and we stop Redis after the bot.
      { stdio: ['pipe', 'ignore', 'ignore'], detached: true },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const ready = await waitForRedis(port, child, 5_000);
    if (ready) {
      return {
        url: `redis://127.0.0.1:${port}`,
        private: true,
        stop: () => stopGuarded(child, exited),
      };
    }
    await stopGuarded(child, exited);
    lastLog = existsSync(logPath)
      ? readFileSync(logPath, 'utf8').trim().split('\n').slice(-3).join('\n')
      : '';
    if (!/Address already in use/i.test(lastLog)) break;
  }
  throw new SandboxError(`redis-server did not start${lastLog ? `:\n${lastLog}` : ''}`);
}

async function stopGuarded(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin?.end();
  const timer = setTimeout(() => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForRedis(port: number, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    const pong = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      let got = '';
      socket.setTimeout(500, () => socket.destroy());
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (d: Buffer) => {
        got += d.toString('utf8');
        if (got.includes('\r\n')) socket.end();
      });
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(got.startsWith('+PONG')));
    });
    if (pong) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

// ── local AWS: dynalite + the S3 stand-in ────────────────────────────────────────────────────────

/** Dummy keys for the local stand-ins only (they accept any); never a real credential. */
const LOCAL_AWS_CREDENTIALS = { accessKeyId: 'AKIASANDBOXLOCALONLY', secretAccessKey: 'sandbox-local-only' };
const KMS_KEY_ID = 'alias/gitops-infra-pipeline-tfstate';

function useLocalAwsCredentials(): () => void {
  const names = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  process.env.AWS_ACCESS_KEY_ID = LOCAL_AWS_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_AWS_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  return () => {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  };
}

type DynaliteFactory = (options: Record<string, unknown>) => Server;

interface LocalAws {
  dynamodbEndpoint: string;
  s3: S3StandIn;
  writeStaleLock(lock: NonNullable<SandboxScenario['staleLock']>): Promise<void>;
  close(): Promise<void>;
}

async function startLocalAws(): Promise<LocalAws> {
  const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const closeDynalite = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const dynamodbEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const backends = Object.values(TERRAFORM_BACKENDS);
  let s3: S3StandIn | undefined;
  const clients = { region: 'us-east-1', credentials: LOCAL_AWS_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...clients, endpoint: dynamodbEndpoint });
  try {
    s3 = await startS3StandIn({ buckets: [...new Set(backends.map((b) => b.bucket))] });
    for (const table of new Set(backends.map((b) => b.table))) {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: table,
          KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    }
  } catch (err) {
    dynamodb.destroy();
    await s3?.close();
    await closeDynalite();
    throw err;
  }
  const s3Standin = s3;
  const s3Client = new S3Client({ ...clients, endpoint: s3Standin.endpoint, forcePathStyle: true });

  return {
    dynamodbEndpoint,
    s3: s3Standin,
    // As Terraform's S3 backend leaves things after a crashed apply (use_lockfile + dynamodb_table): the
    // state object and its digest item from the last save, the S3 lock file and the DynamoDB lock item,
    // both holding the same LockInfo. See src/locks/types.ts for the formats.
    async writeStaleLock(lock) {
      const backend = TERRAFORM_BACKENDS[lock.environment as Environment];
      const created = new Date(Date.now() - lock.ageMinutes * 60_000);
      const state = JSON.stringify({
        version: 4,
        terraform_version: '1.15.9',
        serial: 42,
        lineage: randomUUID(),
        outputs: {},
        resources: [],
      });
      await s3Client.send(
        new PutObjectCommand({
          Bucket: backend.bucket,
          Key: backend.key,
          Body: state,
          ContentType: 'application/json',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: KMS_KEY_ID,
        }),
      );
      await dynamodb.send(
        new PutItemCommand({
          TableName: backend.table,
          Item: {
            LockID: { S: digestItemId(backend) },
            Digest: { S: createHash('md5').update(state).digest('hex') },
          },
        }),
      );
      const info: LockInfo = {
        ID: randomUUID(),
        Operation: lock.operation,
        Info: '',
        Who: lock.who,
        Version: '1.15.9',
        Created: rfc3339Nano(created, 123456),
        Path: `${backend.bucket}/${backend.key}`,
      };
      const json = marshalLockInfo(info);
      await s3Client.send(
        new PutObjectCommand({
          Bucket: backend.bucket,
          Key: lockObjectKey(backend),
          Body: json,
          ContentType: 'application/json',
          IfNoneMatch: '*',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: KMS_KEY_ID,
        }),
      );
      await dynamodb.send(
        new PutItemCommand({
          TableName: backend.table,
          Item: { LockID: { S: lockItemId(backend) }, Info: { S: json } },
          ConditionExpression: 'attribute_not_exists(LockID)',
        }),
      );
    },
    async close() {
      dynamodb.destroy();
      s3Client.destroy();
      await s3Standin.close();
      await closeDynalite();
    },
  };
}

// ── gate outcomes: the real gates when the tools are installed ───────────────────────────────────

/** The tools `scripts/gates.ts` needs for the gates the workflow's jobs publish. */
const GATE_TOOLS = ['opa', 'conftest', 'trivy', 'tflint'];
/** Gates run for the sandbox: the ones whose results the workflow's jobs upload (no actionlint/kargo-schema). */
const GATES_RUN = 'fmt,tflint,trivy,conftest,opa';

/** Module-wide: the gates run once per process, however many sandboxes start (the browser test starts several). */
let realGatesRun: Promise<GateSource> | undefined;
let gatesChild: ChildProcess | undefined;
/** Sandboxes running in this process: the last one to stop ends a gates run still going. */
let running = 0;

class GateSourceTracker {
  readonly settled: Promise<GateSource>;
  private resolve: (source: GateSource) => void = () => undefined;
  private known: GateSource | undefined;
  private warnedPending = false;
  private stopped = false;

  constructor(
    private readonly mode: 'auto' | 'scenario',
    private readonly notice: (line: string) => void,
  ) {
    this.settled = new Promise((resolve) => (this.resolve = resolve));
  }

  current(): GateSource | { kind: 'pending'; detail: string } {
    return (
      this.known ?? {
        kind: 'pending',
        detail: `running the real gates (npx tsx scripts/gates.ts --only ${GATES_RUN}) in the background`,
      }
    );
  }

  /** Results to apply to a run starting now (none while the gates still run). */
  resultsNow(): ReadonlyMap<string, GateResult> | undefined {
    if (this.known?.kind === 'real') return this.known.results;
    if (!this.known && !this.warnedPending) {
      this.warnedPending = true;
      this.notice('gates: still running, so this run uses the scenario file’s gate outcomes');
    }
    return undefined;
  }

  start(logger: Logger): void {
    const settle = (source: GateSource): void => {
      this.known = source;
      this.resolve(source);
    };
    if (this.mode === 'scenario') {
      settle({ kind: 'scenario', detail: 'scenario file (real gates not requested)', results: new Map() });
      return;
    }
    const binDir = spawnSync('bash', [path.join(REPO_ROOT, 'tools', 'install.sh'), '--bin-dir'], {
      encoding: 'utf8',
    }).stdout?.trim();
    const missing = GATE_TOOLS.filter((t) => !binDir || !existsSync(path.join(binDir, t)));
    if (missing.length > 0) {
      settle({
        kind: 'scenario',
        detail: `scenario file (the pinned tools are not installed: ${missing.join(', ')} missing; npm run tools:install builds them)`,
        results: new Map(),
      });
      return;
    }
    realGatesRun ??= this.runGates(logger);
    void realGatesRun.then((source) => {
      settle(source);
      if (!this.stopped) this.notice(`gates: ${source.detail}`);
    });
  }

  /** The sandbox stopped: no more notices. */
  stop(): void {
    this.stopped = true;
  }

  private runGates(logger: Logger): Promise<GateSource> {
    const startedAt = Date.now();
    const outDir = path.join(REPO_ROOT, '.cache', 'gates');
    return new Promise<GateSource>((resolve) => {
      const child = spawn('npx', ['--no', 'tsx', 'scripts/gates.ts', '--only', GATES_RUN], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1' },
        // Its own process group, so that stopping the sandbox can end it with the tools it started.
        detached: true,
      });
      let output = '';
      child.stdout?.on('data', (d: Buffer) => (output += d.toString('utf8')));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString('utf8')));
      child.on('error', (err) => {
        logger.warn({ err }, 'sandbox: could not run the gates');
        resolve({
          kind: 'scenario',
          detail: `scenario file (the gates could not run: ${err.message})`,
          results: new Map(),
        });
      });
      gatesChild = child;
      child.on('exit', (code, signal) => {
        gatesChild = undefined;
        logger.info({ code, signal, output }, 'sandbox: gates finished');
        if (signal) {
          resolve({
            kind: 'scenario',
            detail: `scenario file (the gates were stopped: ${signal})`,
            results: new Map(),
          });
          return;
        }
        const results = readGateResults(outDir, startedAt);
        if (results.size === 0) {
          resolve({
            kind: 'scenario',
            detail: `scenario file (npm run gates produced no results, exit ${code}; see ${outDir})`,
            results,
          });
          return;
        }
        const counts = countStatuses([...results.values()]);
        resolve({
          kind: 'real',
          detail:
            `real results of npm run gates (${results.size} gates: ${counts}; ${((Date.now() - startedAt) / 1000).toFixed(0)} s) ` +
            'for every gate the scenario does not script',
          results,
        });
      });
    });
  }
}

function countStatuses(results: GateResult[]): string {
  const by = new Map<string, number>();
  for (const r of results) by.set(r.status, (by.get(r.status) ?? 0) + 1);
  return [...by.entries()].map(([status, n]) => `${n} ${status}`).join(', ');
}

/** Valid gate-result files written by this run of the gates (errored ones say nothing about the code). */
function readGateResults(dir: string, since: number): Map<string, GateResult> {
  const out = new Map<string, GateResult>();
  if (!existsSync(dir)) return out;
  for (const file of readdirSync(dir)) {
    if (!/^gate-.+\.json$/.test(file)) continue;
    const full = path.join(dir, file);
    try {
      if (statSync(full).mtimeMs < since - 1_000) continue;
      const checked = validateArtifact('gate-result', JSON.parse(readFileSync(full, 'utf8')));
      if (checked.ok && checked.value.status !== 'errored')
        out.set(file.slice(0, -'.json'.length), checked.value);
    } catch {
      // unreadable: the scenario decides that gate
    }
  }
  return out;
}

// ── GitHub scenarios: the scenario file, the real gate results, and a realistic pace ─────────────

interface WorkflowGate {
  /** Artifact the workflow uploads. */
  artifact: string;
  /** Local results (gate-<gate>-<cloud>-<env>) it corresponds to; several are merged. */
  local: string[];
  enforcement: 'hard' | 'soft';
  /** Job key under `jobs:`, the step that fails the job on a hard failure, and the continue-on-error step. */
  job: string;
  failStep: string;
  softStep?: string;
}

/** The gate artifacts of a run for `environment` and the local results that stand for them. */
function workflowGates(environment: Environment, local: ReadonlyMap<string, GateResult>): WorkflowGate[] {
  const hardFail = 'Fail on a failed hard gate';
  const gates: WorkflowGate[] = [
    {
      artifact: 'gate-opa-all-all',
      local: ['gate-opa-all-all'],
      enforcement: 'hard',
      job: 'policy',
      failStep: hardFail,
    },
    {
      artifact: 'gate-conftest-all-all',
      local: [...local.keys()].filter((k) => k.startsWith('gate-conftest-')),
      enforcement: 'hard',
      job: 'policy',
      failStep: hardFail,
    },
  ];
  for (const cloud of ['aws', 'gcp', 'azure'] as const) {
    const root = cloud === 'aws' ? environment : 'all';
    gates.push(
      {
        artifact: `gate-fmt-${cloud}-${environment}`,
        local: ['gate-fmt-all-all'],
        enforcement: 'hard',
        job: cloud,
        failStep: hardFail,
      },
      {
        artifact: `gate-tflint-${cloud}-${environment}`,
        local: [`gate-tflint-${cloud}-${root}`],
        enforcement: 'hard',
        job: cloud,
        failStep: hardFail,
      },
    );
    if (cloud !== 'aws' || environment === 'dev') {
      gates.push({
        artifact: `gate-trivy-${cloud}-${environment}`,
        local: [`gate-trivy-${cloud}-${root}`],
        enforcement: cloud === 'aws' ? 'soft' : 'hard',
        job: cloud,
        failStep: hardFail,
        softStep: 'trivy',
      });
    }
  }
  if (environment === 'prod') {
    gates.push(
      {
        artifact: 'gate-trivy-aws-prod',
        local: ['gate-trivy-aws-prod'],
        enforcement: 'hard',
        job: 'prod-gates',
        failStep: 'Fail on a failed prod gate',
        softStep: 'trivy',
      },
      {
        artifact: 'gate-conftest-aws-prod',
        local: ['gate-conftest-aws-prod'],
        enforcement: 'hard',
        job: 'prod-gates',
        failStep: 'Fail on a failed prod gate',
      },
    );
  }
  return gates;
}

const STATUS_RANK: Readonly<Record<string, number>> = {
  failed: 4,
  errored: 3,
  'soft-failed': 2,
  skipped: 1,
  passed: 0,
};

/** One local result standing for `gate` (several merged: counts summed, worst status, top findings kept). */
function mergeLocal(gate: WorkflowGate, local: ReadonlyMap<string, GateResult>): GateResult | undefined {
  const found = gate.local.map((name) => local.get(name)).filter((r): r is GateResult => r !== undefined);
  if (found.length === 0) return undefined;
  if (found.length === 1) return found[0];
  const worst = found.reduce((a, b) => ((STATUS_RANK[b.status] ?? 0) > (STATUS_RANK[a.status] ?? 0) ? b : a));
  const findings = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const r of found)
    for (const k of Object.keys(findings) as Array<keyof typeof findings>) findings[k] += r.findings[k];
  const total = Object.values(findings).reduce((a, b) => a + b, 0);
  return {
    ...worst,
    findings,
    topFindings: found.flatMap((r) => r.topFindings).slice(0, 20),
    summary:
      total === 0
        ? worst.status === 'passed'
          ? 'no findings'
          : (worst.summary ?? '')
        : (['critical', 'high', 'medium', 'low', 'unknown'] as const)
            .filter((k) => findings[k] > 0)
            .map((k) => `${findings[k]} ${k}`)
            .join(', '),
  };
}

/** The local result as the workflow's job would have uploaded it for this run. */
function asRunArtifact(result: GateResult, gate: WorkflowGate, ctx: ArtifactContext): unknown {
  const [, , cloud, environment] = /^gate-(.+)-(aws|gcp|azure|all)-(dev|prod|all)$/.exec(gate.artifact) ?? [];
  let status = result.status;
  if (gate.enforcement === 'hard' && status === 'soft-failed') status = 'failed';
  if (gate.enforcement === 'soft' && status === 'failed') status = 'soft-failed';
  const artifact = {
    ...result,
    cloud,
    environment,
    enforcement: gate.enforcement,
    status,
    startedAt: ctx.startedAt,
    finishedAt: ctx.uploadedAt,
    durationSeconds: Math.max(0, (Date.parse(ctx.uploadedAt) - Date.parse(ctx.startedAt)) / 1000),
    run: ctx.run,
  };
  // Never hand the bot something the workflow could not have produced.
  return validateArtifact('gate-result', artifact).ok ? artifact : defaultArtifactJson(ctx);
}

/**
 * The GitHub stand-in scenario for a run of `environment`: the scenario file's choice, with the real gate
 * results (when known) for every gate it does not script (the job fails as the workflow's would), and the
 * realistic job durations above, played `speed` times faster (every duration of the scenario divided by it).
 */
export function githubScenarioFor(
  scenario: SandboxScenario,
  environment: Environment,
  gates: { resultsNow(): ReadonlyMap<string, GateResult> | undefined },
  notice: (line: string) => void = () => undefined,
  options: { speed?: number } = {},
): Scenario {
  const speed = options.speed ?? DEFAULT_SPEED;
  if (!(speed > 0)) throw new Error('speed must be > 0');
  const faster = (ms: number | undefined): number | undefined =>
    ms === undefined ? undefined : Math.max(1, Math.round(ms / speed));
  const base = scenarioNamed(scenario.github[environment]);
  const jobs: Record<string, JobScript> = {};
  for (const [key, duration] of Object.entries(JOB_DURATIONS_MS)) {
    const scripted = base.jobs?.[key];
    jobs[key] = { ...scripted, durationMs: faster(scripted?.durationMs ?? base.jobDurationMs ?? duration) };
  }
  const artifacts: Record<string, ArtifactScript> = { ...base.artifacts };
  const local = gates.resultsNow();
  const fromTools: string[] = [];
  if (local) {
    for (const gate of workflowGates(environment, local)) {
      const result = mergeLocal(gate, local);
      if (!result || base.artifacts?.[gate.artifact]) continue;
      artifacts[gate.artifact] = { json: (ctx: ArtifactContext) => asRunArtifact(result, gate, ctx) };
      fromTools.push(gate.artifact);
      const scripted = base.jobs?.[gate.job];
      if (scripted?.failStep || scripted?.softFailSteps) continue; // the scenario decides this job
      const job = jobs[gate.job] ?? {};
      const failed =
        result.status === 'failed' || (result.status === 'soft-failed' && gate.enforcement === 'hard');
      if (gate.softStep && result.status !== 'passed' && result.status !== 'skipped') {
        job.softFailSteps = [...new Set([...(job.softFailSteps ?? []), gate.softStep])];
      }
      if (failed) {
        job.failStep = gate.failStep;
        notice(
          `gates: the real ${gate.artifact} failed, so the ${gate.job} job of this ${environment} run fails`,
        );
      }
      jobs[gate.job] = job;
    }
  }
  // The approval wait itself comes from Environment prod's protection rule on the stand-in (`approval` in
  // the scenario file, see startSandbox), not from the GitHub scenario: prod-pass has no wait of its own.
  const timing = {
    // Jobs without a duration of their own (the simulator's default: 1 s).
    jobDurationMs: faster(base.jobDurationMs ?? 1_000),
    ...(base.queueDelayMs === undefined ? {} : { queueDelayMs: faster(base.queueDelayMs) }),
    ...(base.cancelAfterMs === undefined ? {} : { cancelAfterMs: faster(base.cancelAfterMs) }),
  };
  return {
    ...base,
    ...timing,
    name: `${base.name}${fromTools.length > 0 ? '+real-gates' : ''}`,
    jobs,
    artifacts,
  };
}
