// Every environment setting the bot reads, declared once: its zod type, what it is for and an example.
// load.ts validates against these and lists every problem at once; docs.ts renders the configuration
// reference in the README from the same list (a test keeps them in sync).
import { z } from 'zod';

export interface SettingSpec {
  env: string;
  schema: z.ZodType;
  description: string;
  example: string;
  /** Value is a credential: never logged, shown as "(set)" in diagnostics. */
  secret?: boolean;
  /** Which processes or modes need it, for the docs. */
  group:
    | 'Slack'
    | 'Redis'
    | 'Kargo'
    | 'GitHub'
    | 'Approvals'
    | 'AWS'
    | 'Access'
    | 'Process'
    | 'Queues'
    | 'Edge'
    | 'Retention';
}

const blankIsUnset = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalStr = () => z.preprocess(blankIsUnset, z.string().trim().optional());
const csv = () =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(z.string()).optional(),
  );
const channelId = () =>
  z.preprocess(
    blankIsUnset,
    z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'a Slack channel id such as C0123456789'),
  );
const port = (fallback: number) =>
  z.preprocess(blankIsUnset, z.coerce.number().int().min(0).max(65535).default(fallback)); // 0 = any free port
const positiveInt = (fallback: number, max: number) =>
  z.preprocess(blankIsUnset, z.coerce.number().int().min(1).max(max).default(fallback));
const slackUser = /^[UW][A-Z0-9]{2,}$/;
const slackGroup = /^S[A-Z0-9]{2,}$/;

export const SETTINGS = {
  slackMode: {
    env: 'SLACK_MODE',
    group: 'Slack',
    schema: z.preprocess(blankIsUnset, z.enum(['http', 'socket']).default('http')),
    description:
      'How Slack reaches the bot: `http` (signed requests to /slack/events) or `socket` (Socket Mode, no public URL).',
    example: 'http',
  },
  slackBotToken: {
    env: 'SLACK_BOT_TOKEN',
    group: 'Slack',
    secret: true,
    schema: z.preprocess(blankIsUnset, z.string().regex(/^xoxb-/, 'a bot token starting with xoxb-')),
    description: 'Bot User OAuth Token of the Slack app.',
    example: 'xoxb-1234-5678-abcdef',
  },
  slackSigningSecret: {
    env: 'SLACK_SIGNING_SECRET',
    group: 'Slack',
    secret: true,
    schema: optionalStr().pipe(z.string().min(16, 'at least 16 characters').optional()),
    description: 'Signing secret used to verify every request from Slack (required when SLACK_MODE=http).',
    example: '8f742231b10e8888abcd99yyyzzz85a5',
  },
  slackAppToken: {
    env: 'SLACK_APP_TOKEN',
    group: 'Slack',
    secret: true,
    schema: optionalStr().pipe(
      z
        .string()
        .regex(/^xapp-/, 'an app-level token starting with xapp-')
        .optional(),
    ),
    description: 'App-level token with connections:write (required when SLACK_MODE=socket).',
    example: 'xapp-1-A111-222-abc',
  },
  slackApiUrl: {
    env: 'SLACK_API_URL',
    group: 'Slack',
    schema: optionalStr().pipe(z.url().optional()),
    description:
      'Slack Web API base URL. Leave unset in production; the sandbox points it at its Slack stand-in.',
    example: 'https://slack.com/api/',
  },
  slackBotUserId: {
    env: 'SLACK_BOT_USER_ID',
    group: 'Slack',
    schema: optionalStr(),
    description: "The bot's user id. Optional: with SLACK_BOT_ID set too, Bolt skips its auth.test call.",
    example: 'U0BOT12345',
  },
  slackBotId: {
    env: 'SLACK_BOT_ID',
    group: 'Slack',
    schema: optionalStr(),
    description:
      "The bot's bot id (B…). Optional: when it or SLACK_BOT_USER_ID is unset, Bolt asks auth.test once.",
    example: 'B0BOT12345',
  },
  channelDeployments: {
    env: 'SLACK_CHANNEL_DEPLOYMENTS',
    group: 'Slack',
    schema: channelId(),
    description:
      'Channel id of #infra-deployments: one live card per promotion with its outputs in the thread, and freeze announcements.',
    example: 'C0DEPLOY001',
  },
  channelAlerts: {
    env: 'SLACK_CHANNEL_ALERTS',
    group: 'Slack',
    schema: channelId(),
    description: 'Channel id of #infra-alerts: failures, with the link to the failed job.',
    example: 'C0ALERTS001',
  },
  channelAudit: {
    env: 'SLACK_CHANNEL_AUDIT',
    group: 'Slack',
    schema: channelId(),
    description:
      'Channel id of #infra-audit: one line per decision and per phase change, mirrored from the audit stream (which keeps every record; /audit shows them).',
    example: 'C0AUDIT0001',
  },
  redisUrl: {
    env: 'REDIS_URL',
    group: 'Redis',
    secret: true,
    schema: z.preprocess(
      blankIsUnset,
      z
        .string()
        .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
        .default('redis://127.0.0.1:6379'),
    ),
    description:
      'Redis for queues, cards and the audit stream. Production: AOF on and maxmemory-policy noeviction. May hold a password.',
    example: 'redis://redis.chatops.svc:6379/0',
  },
  redisPrefix: {
    env: 'REDIS_PREFIX',
    group: 'Redis',
    schema: z.preprocess(
      blankIsUnset,
      z
        .string()
        .regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and -')
        .default('chatops'),
    ),
    description: 'Key prefix for everything the bot stores, so several installs can share one Redis.',
    example: 'chatops',
  },
  kargoProject: {
    env: 'KARGO_PROJECT',
    group: 'Kargo',
    schema: z.preprocess(
      blankIsUnset,
      z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace name')
        .default('gitops-infra'),
    ),
    description: 'Kargo project (= namespace) holding the Warehouse, Stages, Freight and Promotions.',
    example: 'gitops-infra',
  },
  kargoStageDev: {
    env: 'KARGO_STAGE_DEV',
    group: 'Kargo',
    schema: z.preprocess(blankIsUnset, z.string().default('dev')),
    description: 'Name of the Kargo Stage that `/promote dev` targets.',
    example: 'dev',
  },
  kargoStageProd: {
    env: 'KARGO_STAGE_PROD',
    group: 'Kargo',
    schema: z.preprocess(blankIsUnset, z.string().default('prod')),
    description: 'Name of the Kargo Stage that `/promote prod` targets.',
    example: 'prod',
  },
  kubeconfig: {
    env: 'KUBECONFIG',
    group: 'Kargo',
    schema: optionalStr(),
    description:
      'Path to a kubeconfig. Unset inside a pod: the bot then uses its ServiceAccount (in-cluster).',
    example: '/home/me/.kube/config',
  },
  kargoUrl: {
    env: 'KARGO_URL',
    group: 'Kargo',
    schema: optionalStr().pipe(z.url().optional()),
    description: 'Kargo UI base URL, for links on cards (optional).',
    example: 'https://kargo.example.com',
  },
  githubRepository: {
    env: 'GITHUB_REPOSITORY',
    group: 'GitHub',
    schema: z.preprocess(blankIsUnset, z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/name')),
    description: 'The repository that holds the pipeline workflow.',
    example: 'acme/gitops-infra-pipeline',
  },
  githubWorkflow: {
    env: 'GITHUB_WORKFLOW_FILE',
    group: 'GitHub',
    schema: z.preprocess(blankIsUnset, z.string().default('terraform.yaml')),
    description: 'Workflow file name (in .github/workflows) that Kargo dispatches.',
    example: 'terraform.yaml',
  },
  githubApiUrl: {
    env: 'GITHUB_API_URL',
    group: 'GitHub',
    schema: z.preprocess(blankIsUnset, z.url().default('https://api.github.com')),
    description: 'GitHub REST API base URL (GitHub Enterprise Server: https://HOST/api/v3).',
    example: 'https://api.github.com',
  },
  githubAppId: {
    env: 'GITHUB_APP_ID',
    group: 'GitHub',
    schema: optionalStr().pipe(z.string().regex(/^\d+$/, 'a numeric App id').optional()),
    description: 'GitHub App id (recommended auth: installation tokens minted per job).',
    example: '123456',
  },
  githubAppPrivateKey: {
    env: 'GITHUB_APP_PRIVATE_KEY',
    group: 'GitHub',
    secret: true,
    schema: optionalStr().pipe(
      z.string().includes('PRIVATE KEY', { message: 'a PEM private key' }).optional(),
    ),
    description: "The GitHub App's private key (PEM). Mount it from a Secret.",
    example: '-----BEGIN RSA PRIVATE KEY-----…',
  },
  githubAppInstallationId: {
    env: 'GITHUB_APP_INSTALLATION_ID',
    group: 'GitHub',
    schema: optionalStr().pipe(z.string().regex(/^\d+$/, 'a numeric installation id').optional()),
    description: "The App's installation id on the repository's owner.",
    example: '45678901',
  },
  githubToken: {
    env: 'GITHUB_TOKEN',
    group: 'GitHub',
    secret: true,
    schema: optionalStr(),
    description: 'A fine-grained personal access token instead of an App, for small installs.',
    example: 'github_pat_11ABC…',
  },
  githubWebhookSecret: {
    env: 'GITHUB_WEBHOOK_SECRET',
    group: 'GitHub',
    secret: true,
    schema: optionalStr().pipe(z.string().min(16, 'at least 16 characters').optional()),
    description: 'Secret that signs GitHub webhook deliveries (X-Hub-Signature-256) to /github/webhook.',
    example: 'a-long-random-string-from-a-password-manager',
  },
  approvalMode: {
    env: 'APPROVAL_MODE',
    group: 'Approvals',
    schema: optionalStr(),
    description:
      "How prod is approved from Slack: `protection-rule` (the App is the prod environment's custom deployment protection rule; recommended) or `reviewer` (GitHub required reviewers; approvers link their GitHub account with /approve link).",
    example: 'protection-rule',
  },
  approvalReminderMinutes: {
    env: 'APPROVAL_REMINDER_MINUTES',
    group: 'Approvals',
    schema: optionalStr(),
    description:
      'Minutes before a waiting approval is reminded in #infra-deployments (never approved by timeout). Default 30.',
    example: '30',
  },
  tokenEncryptionKey: {
    env: 'TOKEN_ENCRYPTION_KEY',
    group: 'Approvals',
    secret: true,
    schema: optionalStr(),
    description:
      'Reviewer mode: 32 random bytes, base64 (`openssl rand -base64 32`), encrypting linked GitHub user tokens at rest (AES-256-GCM).',
    example: 'q5Jb0Z3…base64…=',
  },
  tokenEncryptionPreviousKeys: {
    env: 'TOKEN_ENCRYPTION_PREVIOUS_KEYS',
    group: 'Approvals',
    secret: true,
    schema: optionalStr(),
    description: 'Older encryption keys, comma-separated, still accepted for reading after a key rotation.',
    example: 'oldKeyBase64=',
  },
  githubAppClientId: {
    env: 'GITHUB_APP_CLIENT_ID',
    group: 'Approvals',
    schema: optionalStr(),
    description: "Reviewer mode: the GitHub App's client id, for the device flow of /approve link.",
    example: 'Iv23liABCDEF123456',
  },
  githubAppClientSecret: {
    env: 'GITHUB_APP_CLIENT_SECRET',
    group: 'Approvals',
    secret: true,
    schema: optionalStr(),
    description: "The GitHub App's client secret, sent when refreshing linked user tokens.",
    example: 'abcdef0123456789…',
  },
  githubWebUrl: {
    env: 'GITHUB_WEB_URL',
    group: 'Approvals',
    schema: optionalStr(),
    description:
      'GitHub web URL for the device flow and review links (GitHub Enterprise Server: https://HOST). Default https://github.com.',
    example: 'https://github.com',
  },
  awsRegion: {
    env: 'AWS_REGION',
    group: 'AWS',
    schema: z.preprocess(
      blankIsUnset,
      z
        .string()
        .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1')
        .default('us-east-1'),
    ),
    description:
      'Region of the Terraform state bucket and lock table (/unlock). Credentials come only from the default chain (EKS Pod Identity / IRSA): no keys in configuration.',
    example: 'us-east-1',
  },
  locksDynamodbEndpoint: {
    env: 'LOCKS_DYNAMODB_ENDPOINT',
    group: 'AWS',
    schema: optionalStr().pipe(z.url().optional()),
    description: 'DynamoDB endpoint override for the sandbox and tests (dynalite). Never set in production.',
    example: 'http://127.0.0.1:4567',
  },
  locksS3Endpoint: {
    env: 'LOCKS_S3_ENDPOINT',
    group: 'AWS',
    schema: optionalStr().pipe(z.url().optional()),
    description: 'S3 endpoint override for the sandbox and tests (the S3 stand-in). Never set in production.',
    example: 'http://127.0.0.1:4568',
  },
  httpHost: {
    env: 'HOST',
    group: 'Process',
    schema: z.preprocess(
      blankIsUnset,
      z
        .string()
        .regex(/^[0-9a-fA-F.:]+$|^localhost$/, 'an IP address to listen on, such as 127.0.0.1 or 0.0.0.0')
        .default('127.0.0.1'),
    ),
    description:
      'Address every port of the bot listens on. Default 127.0.0.1 (this machine only); containers set 0.0.0.0 (the Dockerfile, compose and deploy/ do).',
    example: '0.0.0.0',
  },
  httpPort: {
    env: 'PORT',
    group: 'Process',
    schema: port(3000),
    description:
      'Public port of the web process: /slack/events, /github/webhook, /healthz, /readyz. The only port to expose to the internet.',
    example: '3000',
  },
  metricsPort: {
    env: 'METRICS_PORT',
    group: 'Process',
    schema: port(3002),
    description:
      'Private port of the web process for /metrics (and /healthz, /readyz). Never expose it publicly.',
    example: '3002',
  },
  workerPort: {
    env: 'WORKER_PORT',
    group: 'Process',
    schema: port(3001),
    description:
      'Private port of the worker process for /healthz, /readyz and /metrics. Never expose it publicly.',
    example: '3001',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    group: 'Process',
    schema: z.preprocess(
      blankIsUnset,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    ),
    description: 'pino log level.',
    example: 'info',
  },
  configFile: {
    env: 'CONFIG_FILE',
    group: 'Process',
    schema: optionalStr(),
    description: 'Optional YAML file with the access policy (and any setting above, by its env name).',
    example: '/etc/chatops/config.yaml',
  },
  promotionConcurrency: {
    env: 'PROMOTION_CONCURRENCY',
    group: 'Queues',
    schema: positiveInt(4, 64),
    description:
      'Promote jobs one worker runs at once (the promotions lane). A promote job ends when its Promotion exists; Slack posting runs in its own per-channel lane.',
    example: '4',
  },
  interactiveConcurrency: {
    env: 'INTERACTIVE_CONCURRENCY',
    group: 'Queues',
    schema: positiveInt(8, 64),
    description:
      'Interactive jobs one worker runs at once (/freight, /approve and its buttons, /unlock, /cancel): a lane of its own that never waits behind promotions.',
    example: '8',
  },
  promotePatienceMinutes: {
    env: 'PROMOTE_PATIENCE_MINUTES',
    group: 'Queues',
    schema: positiveInt(15, 24 * 60),
    description:
      'How long an accepted /promote waits out a Kubernetes API outage (the lane pauses, nothing is lost) before it is given up, answered and alerted.',
    example: '15',
  },
  jobLockSeconds: {
    env: 'JOB_LOCK_SECONDS',
    group: 'Queues',
    schema: positiveInt(30, 600),
    description:
      "How long a running job's lock lasts without renewal: a worker that dies is noticed, and its job retried, within about this long. BullMQ's default.",
    example: '30',
  },
  shutdownGraceSeconds: {
    env: 'SHUTDOWN_GRACE_SECONDS',
    group: 'Queues',
    schema: positiveInt(20, 600),
    description:
      "How long a stopping worker waits for its running jobs before it closes anyway; a job cut off is taken over by another replica once its lock expires (JOB_LOCK_SECONDS). Keep it below the pod's terminationGracePeriodSeconds (30 by default).",
    example: '20',
  },
  slackChannelRate: {
    env: 'SLACK_CHANNEL_RATE_PER_SECOND',
    group: 'Queues',
    schema: positiveInt(1, 50),
    description:
      "Messages posted or updated per second per Slack channel. Slack's documented pace is about 1; leave it unless Slack raised your limit or you point SLACK_API_URL at a stand-in.",
    example: '1',
  },
  slackMaxBodyBytes: {
    env: 'SLACK_MAX_BODY_BYTES',
    group: 'Edge',
    schema: positiveInt(256 * 1024, 25 * 1024 * 1024),
    description:
      'Largest Slack request body read before its signature is checked (bytes). Slash commands are < 2 KB; a click on the largest card the bot renders is < 64 KB.',
    example: '262144',
  },
  githubMaxBodyBytes: {
    env: 'GITHUB_MAX_BODY_BYTES',
    group: 'Edge',
    schema: positiveInt(512 * 1024, 25 * 1024 * 1024),
    description:
      'Largest GitHub delivery read before its signature is checked (bytes). The events the bot subscribes to are ~10-25 KB; GitHub caps deliveries at 25 MB.',
    example: '524288',
  },
  maxConcurrentBodies: {
    env: 'MAX_CONCURRENT_BODIES',
    group: 'Edge',
    schema: positiveInt(16, 1024),
    description:
      'Request bodies read at the same time before authentication, across both routes; more are answered 503 with Retry-After. Bounds their memory to this × the larger body limit.',
    example: '16',
  },
  refusalSummarySeconds: {
    env: 'REFUSAL_SUMMARY_SECONDS',
    group: 'Edge',
    schema: positiveInt(60, 24 * 3600),
    description:
      'Refused unauthenticated requests are counted, and summarised in the audit trail at most once per this interval per route and reason.',
    example: '60',
  },
  cardRetentionDays: {
    env: 'CARD_RETENTION_DAYS',
    group: 'Retention',
    schema: positiveInt(35, 3650),
    description:
      'How long a promotion card (its events, Slack message record, links) is kept after its last change. Longer than GitHub lets a job wait for approval (30 days).',
    example: '35',
  },
  auditRetentionDays: {
    env: 'AUDIT_RETENTION_DAYS',
    group: 'Retention',
    schema: positiveInt(400, 3650),
    description:
      'How long audit records stay in the Redis stream; older ones are trimmed by age (never by count). Archive the stream first if you need them longer.',
    example: '400',
  },
  promoteDevUsers: accessList('PROMOTE_DEV_USERS', 'users', 'promote to dev'),
  promoteDevGroups: accessList('PROMOTE_DEV_GROUPS', 'groups', 'promote to dev'),
  promoteProdUsers: accessList('PROMOTE_PROD_USERS', 'users', 'promote to prod'),
  promoteProdGroups: accessList('PROMOTE_PROD_GROUPS', 'groups', 'promote to prod'),
  approveDevUsers: accessList(
    'APPROVE_DEV_USERS',
    'users',
    'approve dev deployments, freeze and unfreeze dev, and override its freeze',
  ),
  approveDevGroups: accessList(
    'APPROVE_DEV_GROUPS',
    'groups',
    'approve dev deployments, freeze and unfreeze dev, and override its freeze',
  ),
  approveProdUsers: accessList(
    'APPROVE_PROD_USERS',
    'users',
    'approve prod deployments, freeze and unfreeze prod, and override its freeze',
  ),
  approveProdGroups: accessList(
    'APPROVE_PROD_GROUPS',
    'groups',
    'approve prod deployments, freeze and unfreeze prod, and override its freeze',
  ),
  unlockDevUsers: accessList('UNLOCK_DEV_USERS', 'users', 'release a stale dev state lock'),
  unlockDevGroups: accessList('UNLOCK_DEV_GROUPS', 'groups', 'release a stale dev state lock'),
  unlockProdUsers: accessList('UNLOCK_PROD_USERS', 'users', 'release a stale prod state lock'),
  unlockProdGroups: accessList('UNLOCK_PROD_GROUPS', 'groups', 'release a stale prod state lock'),
} satisfies Record<string, SettingSpec>;

function accessList(env: string, kind: 'users' | 'groups', what: string): SettingSpec {
  const pattern = kind === 'users' ? slackUser : slackGroup;
  return {
    env,
    group: 'Access',
    schema: csv().pipe(
      z
        .array(
          z.string().regex(pattern, kind === 'users' ? 'Slack user ids (U…)' : 'Slack user-group ids (S…)'),
        )
        .optional(),
    ),
    description: `Comma-separated Slack ${kind === 'users' ? 'user ids' : 'user-group ids'} allowed to ${what}. Adds to the YAML access policy.`,
    example: kind === 'users' ? 'U0ALICE001,U0BOB00002' : 'S0PLATFORM1',
  };
}

export type SettingKey = keyof typeof SETTINGS;
