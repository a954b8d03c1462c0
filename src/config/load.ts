// Loads the bot's configuration from environment variables plus an optional YAML file (CONFIG_FILE),
// validates all of it with zod, and either returns a typed Config or throws ConfigError listing every
// problem at once — which setting, what was expected, and an example — so one restart fixes them all.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as YamlModule from 'yaml';
import { z } from 'zod';
import type { AccessPolicy, Principals } from '../domain/access.js';
import type { Environment } from '../domain/types.js';
import { approvalsSecrets, resolveApprovalsConfig, type ApprovalsConfig } from '../approvals/config.js';
import { SETTINGS, type SettingKey, type SettingSpec } from './settings.js';

export interface Config {
  slack: {
    mode: 'http' | 'socket';
    botToken: string;
    signingSecret?: string;
    appToken?: string;
    apiUrl?: string;
    botUserId?: string;
    botId?: string;
    channels: { deployments: string; alerts: string; audit: string };
  };
  redis: { url: string; prefix: string };
  kargo: { project: string; stages: Record<Environment, string>; kubeconfig?: string; url?: string };
  github: {
    owner: string;
    repo: string;
    workflow: string;
    apiUrl: string;
    auth:
      | { kind: 'app'; appId: string; privateKey: string; installationId: string }
      | { kind: 'token'; token: string }
      | { kind: 'none' };
    webhookSecret?: string;
  };
  /** `enabled`: APPROVAL_MODE was set, so the bot decides prod approvals (four-eyes applies). */
  approvals: ApprovalsConfig & { enabled: boolean };
  aws: { region: string; dynamodbEndpoint?: string; s3Endpoint?: string };
  access: AccessPolicy;
  http: { host: string; port: number; metricsPort: number; workerPort: number };
  edge: {
    slackMaxBytes: number;
    githubMaxBytes: number;
    concurrentBodies: number;
    refusalSummarySeconds: number;
  };
  retention: { cardDays: number; auditDays: number };
  queues: {
    promotionConcurrency: number;
    interactiveConcurrency: number;
    promotePatienceMinutes: number;
    jobLockSeconds: number;
    shutdownGraceSeconds: number;
    slackChannelRate: number;
  };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Every credential value, so the logger can scrub them wherever they appear. */
  secrets: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems
        .map((p) => `  - ${p}`)
        .join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

const principalsSchema = z
  .object({
    users: z.array(z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'Slack user ids (U…)')).default([]),
    groups: z.array(z.string().regex(/^S[A-Z0-9]{2,}$/, 'Slack user-group ids (S…)')).default([]),
    everyone: z.boolean().optional(),
  })
  .strict();
const perEnvironment = z
  .object({ dev: principalsSchema.optional(), prod: principalsSchema.optional() })
  .strict();
const fileSchema = z
  .object({
    access: z
      .object({
        promote: perEnvironment.optional(),
        approve: perEnvironment.optional(),
        unlock: perEnvironment.optional(),
      })
      .strict()
      .optional(),
  })
  .catchall(z.union([z.string(), z.number(), z.boolean()]));

type FileConfig = z.infer<typeof fileSchema>;

function readConfigFile(path: string | undefined, problems: string[]): FileConfig {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`CONFIG_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return {};
  }
  let data: unknown;
  try {
    // Loaded only when a file is configured: the YAML parser costs the web process ~15 MB of memory.
    const { parse } = createRequire(import.meta.url)('yaml') as typeof YamlModule;
    data = parse(text) ?? {};
  } catch (error) {
    problems.push(`CONFIG_FILE: ${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    return {};
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`CONFIG_FILE ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    return {};
  }
  const unknown = Object.keys(parsed.data).filter(
    (k) => k !== 'access' && !Object.values(SETTINGS).some((s) => s.env === k),
  );
  for (const key of unknown) problems.push(`CONFIG_FILE ${path}: unknown setting ${key}`);
  return parsed.data;
}

function describeProblem(spec: SettingSpec, message: string, present: boolean): string {
  const what = present ? `invalid: expected ${message}` : 'is required';
  return `${spec.env} ${what}. ${spec.description} Example: ${spec.env}=${spec.example}`;
}

function readSettings(env: NodeJS.ProcessEnv, file: FileConfig, problems: string[]) {
  const values: Partial<Record<SettingKey, unknown>> = {};
  for (const [key, spec] of Object.entries(SETTINGS) as Array<[SettingKey, SettingSpec]>) {
    const raw = env[spec.env] ?? (file[spec.env] === undefined ? undefined : String(file[spec.env]));
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) values[key] = parsed.data;
    else {
      const present = raw !== undefined && String(raw).trim() !== '';
      const message = parsed.error.issues.map((i) => i.message).join('; ');
      problems.push(describeProblem(spec, present ? message : message, present));
    }
  }
  return values as { [K in SettingKey]: z.infer<(typeof SETTINGS)[K]['schema']> };
}

/** Access-list settings are declared with a generic schema; their parsed value is string[] | undefined. */
const ids = (value: unknown): string[] | undefined => value as string[] | undefined;

const emptyPrincipals = (): Principals => ({ users: [], groups: [] });

function mergePrincipals(base: Principals | undefined, users?: string[], groups?: string[]): Principals {
  const p = base ?? emptyPrincipals();
  return {
    users: [...new Set([...p.users, ...(users ?? [])])],
    groups: [...new Set([...p.groups, ...(groups ?? [])])],
    ...(p.everyone === undefined ? {} : { everyone: p.everyone }),
  };
}

/**
 * Builds the access policy. Defaults: anyone may promote to dev (dev is the demo environment, and
 * Kargo auto-promotes there anyway); nobody may promote, approve or unlock prod, or unlock dev, until
 * configuration names them. `everyone` is refused for prod.
 */
function buildAccess(file: FileConfig, s: ReturnType<typeof readSettings>, problems: string[]): AccessPolicy {
  const a = file.access ?? {};
  const devPromote = a.promote?.dev ?? { users: [], groups: [], everyone: true };
  const policy: AccessPolicy = {
    promote: {
      dev: mergePrincipals(devPromote, ids(s.promoteDevUsers), ids(s.promoteDevGroups)),
      prod: mergePrincipals(a.promote?.prod, ids(s.promoteProdUsers), ids(s.promoteProdGroups)),
    },
    approve: {
      dev: mergePrincipals(a.approve?.dev, ids(s.approveDevUsers), ids(s.approveDevGroups)),
      prod: mergePrincipals(a.approve?.prod, ids(s.approveProdUsers), ids(s.approveProdGroups)),
    },
    unlock: {
      dev: mergePrincipals(a.unlock?.dev, ids(s.unlockDevUsers), ids(s.unlockDevGroups)),
      prod: mergePrincipals(a.unlock?.prod, ids(s.unlockProdUsers), ids(s.unlockProdGroups)),
    },
  };
  for (const action of ['promote', 'approve', 'unlock'] as const) {
    if (policy[action].prod.everyone) {
      problems.push(
        `access.${action}.prod.everyone is not allowed: prod is default deny; list Slack user or user-group ids instead`,
      );
    }
  }
  return policy;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const file = readConfigFile(env.CONFIG_FILE?.trim() || undefined, problems);
  const s = readSettings(env, file, problems);

  if (s.slackMode === 'http' && !s.slackSigningSecret) {
    problems.push(
      describeProblem(SETTINGS.slackSigningSecret, '', false).replace(
        'is required',
        'is required when SLACK_MODE=http',
      ),
    );
  }
  if (s.slackMode === 'socket' && !s.slackAppToken) {
    problems.push(
      describeProblem(SETTINGS.slackAppToken, '', false).replace(
        'is required',
        'is required when SLACK_MODE=socket',
      ),
    );
  }
  const appParts = [s.githubAppId, s.githubAppPrivateKey, s.githubAppInstallationId];
  const appCount = appParts.filter(Boolean).length;
  if (appCount > 0 && appCount < 3) {
    problems.push(
      'GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID go together: set all three (or GITHUB_TOKEN instead)',
    );
  }
  const access = buildAccess(file, s, problems);
  const authKind = appCount === 3 ? 'app' : s.githubToken ? 'token' : 'none';
  const opt = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const approvals = resolveApprovalsConfig(
    {
      ...(opt(s.approvalMode) ? { mode: opt(s.approvalMode) } : {}),
      ...(opt(s.approvalReminderMinutes) ? { reminderMinutes: opt(s.approvalReminderMinutes) } : {}),
      ...(opt(s.tokenEncryptionKey) ? { tokenEncryptionKey: opt(s.tokenEncryptionKey) } : {}),
      ...(opt(s.tokenEncryptionPreviousKeys)
        ? { tokenEncryptionPreviousKeys: opt(s.tokenEncryptionPreviousKeys) }
        : {}),
      ...(opt(s.githubAppClientId) ? { clientId: opt(s.githubAppClientId) } : {}),
      ...(opt(s.githubAppClientSecret) ? { clientSecret: opt(s.githubAppClientSecret) } : {}),
      ...(opt(s.githubWebUrl) ? { webUrl: opt(s.githubWebUrl) } : {}),
    },
    // Approvals are opt-in: an install that only promotes needs no GitHub App, so the default mode's App
    // requirement is enforced only when APPROVAL_MODE is set (a decision without it fails with GitHub's answer).
    opt(s.approvalMode) ? authKind : 'app',
  );
  problems.push(...approvals.problems);
  const approvalsEnabled = Boolean(opt(s.approvalMode));
  // Four-eyes needs two people: with one approver, that person's own prod requests could never be
  // approved, and prod would be wedged. User groups are checked at run time (their members live in Slack).
  const prodApprovers = access.approve.prod;
  if (approvalsEnabled && prodApprovers.groups.length === 0 && prodApprovers.users.length < 2) {
    problems.push(
      `APPROVE_PROD_USERS lists ${prodApprovers.users.length === 0 ? 'nobody' : 'one person'} (and APPROVE_PROD_GROUPS no group): ` +
        'four-eyes needs at least two people who may approve prod, or a request by the only approver could never be approved. ' +
        'Example: APPROVE_PROD_USERS=U0ALICE001,U0BOB00002 (or access.approve.prod in CONFIG_FILE).',
    );
  }
  if (problems.length > 0 || !approvals.config) throw new ConfigError(problems);

  const [owner = '', repo = ''] = (s.githubRepository as string).split('/');
  const auth: Config['github']['auth'] =
    appCount === 3
      ? {
          kind: 'app',
          appId: s.githubAppId as string,
          privateKey: s.githubAppPrivateKey as string,
          installationId: s.githubAppInstallationId as string,
        }
      : s.githubToken
        ? { kind: 'token', token: s.githubToken }
        : { kind: 'none' };

  const secrets = (Object.entries(SETTINGS) as Array<[SettingKey, SettingSpec]>)
    .filter(([, spec]) => spec.secret)
    .map(([key]) => s[key])
    .filter((v): v is string => typeof v === 'string' && v.length >= 8);

  return {
    slack: {
      mode: s.slackMode,
      botToken: s.slackBotToken as string,
      ...(s.slackSigningSecret ? { signingSecret: s.slackSigningSecret } : {}),
      ...(s.slackAppToken ? { appToken: s.slackAppToken } : {}),
      ...(s.slackApiUrl ? { apiUrl: s.slackApiUrl } : {}),
      ...(s.slackBotUserId ? { botUserId: s.slackBotUserId } : {}),
      ...(s.slackBotId ? { botId: s.slackBotId } : {}),
      channels: {
        deployments: s.channelDeployments as string,
        alerts: s.channelAlerts as string,
        audit: s.channelAudit as string,
      },
    },
    redis: { url: s.redisUrl, prefix: s.redisPrefix },
    kargo: {
      project: s.kargoProject,
      stages: { dev: s.kargoStageDev, prod: s.kargoStageProd },
      ...(s.kubeconfig ? { kubeconfig: s.kubeconfig } : {}),
      ...(s.kargoUrl ? { url: s.kargoUrl } : {}),
    },
    github: {
      owner,
      repo,
      workflow: s.githubWorkflow,
      apiUrl: s.githubApiUrl,
      auth,
      ...(s.githubWebhookSecret ? { webhookSecret: s.githubWebhookSecret } : {}),
    },
    aws: {
      region: s.awsRegion,
      ...(s.locksDynamodbEndpoint ? { dynamodbEndpoint: s.locksDynamodbEndpoint } : {}),
      ...(s.locksS3Endpoint ? { s3Endpoint: s.locksS3Endpoint } : {}),
    },
    approvals: { ...approvals.config, enabled: approvalsEnabled },
    access,
    http: { host: s.httpHost, port: s.httpPort, metricsPort: s.metricsPort, workerPort: s.workerPort },
    edge: {
      slackMaxBytes: s.slackMaxBodyBytes,
      githubMaxBytes: s.githubMaxBodyBytes,
      concurrentBodies: s.maxConcurrentBodies,
      refusalSummarySeconds: s.refusalSummarySeconds,
    },
    retention: { cardDays: s.cardRetentionDays, auditDays: s.auditRetentionDays },
    queues: {
      promotionConcurrency: s.promotionConcurrency,
      interactiveConcurrency: s.interactiveConcurrency,
      promotePatienceMinutes: s.promotePatienceMinutes,
      jobLockSeconds: s.jobLockSeconds,
      shutdownGraceSeconds: s.shutdownGraceSeconds,
      slackChannelRate: s.slackChannelRate,
    },
    logLevel: s.logLevel,
    secrets: [...secrets, ...approvalsSecrets(approvals.config)],
  };
}
