// .env.example and docker-compose.yml. .env.example must list exactly the settings of src/config/settings.ts
// (each once, with its description on the line above and a value its schema accepts; secrets only as
// placeholders), and, copied to .env as is, must load as a valid configuration. docker-compose.yml must run
// Redis the way BullMQ needs it (AOF, fsync every second, noeviction, a volume, a healthcheck) and the web
// and worker roles of the image with that .env, after Redis is healthy, restarting on failure, listening on
// 0.0.0.0 inside their containers but publishing only the web's public port, with deploy/'s memory limits and
// heap ceilings.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { V1Deployment } from '@kubernetes/client-node';
import { loadConfig } from '../../src/config/load.js';
import {
  SECRET_ENVS,
  SETTING_ENVS,
  readRepoFile,
  repoRoot,
  settingByEnv,
  settingDefault,
  yamlDocument,
  yamlDocuments,
} from './helpers.js';

// ---- .env.example -----------------------------------------------------------------------------------------

interface EnvLine {
  key: string;
  value: string;
  /** false for an optional setting shown as `# KEY=value`. */
  active: boolean;
  /** The comment line right above it, without `# `. */
  comment: string | undefined;
  line: number;
}

const unquote = (value: string): string => {
  const v = value.trim();
  if (v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\n/g, '\n');
  if (v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  return v;
};

function parseEnvExample(text: string): { entries: EnvLine[]; stray: string[] } {
  const lines = text.split('\n');
  const entries: EnvLine[] = [];
  const stray: string[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const match = /^(#\s?)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) {
      const above = lines[i - 1]?.trim();
      entries.push({
        key: match[2]!,
        value: unquote(match[3]!),
        active: !match[1],
        comment: above?.startsWith('#') ? above.replace(/^#\s?/, '') : undefined,
        line: i + 1,
      });
    } else if (line !== '' && !line.startsWith('#')) {
      stray.push(`${i + 1}: ${line}`);
    }
  });
  return { entries, stray };
}

const envExample = parseEnvExample(readRepoFile('.env.example'));
const entryOf = (env: string): EnvLine => {
  const entry = envExample.entries.find((e) => e.key === env);
  if (!entry) throw new Error(`.env.example does not list ${env}`);
  return entry;
};
const activeEnv = (): Record<string, string> =>
  Object.fromEntries(envExample.entries.filter((e) => e.active).map((e) => [e.key, e.value]));

describe('.env.example', () => {
  it('lists exactly the settings of src/config/settings.ts — no more, no fewer, each once', () => {
    const keys = envExample.entries.map((e) => e.key);
    expect([...keys].sort()).toEqual([...SETTING_ENVS].sort());
    expect(new Set(keys).size).toBe(keys.length);
    expect(envExample.stray).toEqual([]);
  });

  it('keeps the order of settings.ts, so the two read side by side', () => {
    expect(envExample.entries.map((e) => e.key)).toEqual(SETTING_ENVS);
  });

  it.each(SETTING_ENVS)('%s: its description is the comment line above it', (env) => {
    const entry = entryOf(env);
    expect(entry.comment).toBe(settingByEnv(env)!.description);
  });

  it.each(SETTING_ENVS)('%s: the value shown is one its schema accepts', (env) => {
    const entry = entryOf(env);
    const parsed = settingByEnv(env)!.schema.safeParse(entry.value);
    expect({ env, value: entry.value, ok: parsed.success }).toEqual({ env, value: entry.value, ok: true });
  });

  it.each([...SECRET_ENVS])('%s (secret): a placeholder, never a real credential', (env) => {
    const entry = entryOf(env);
    if (env === 'REDIS_URL') {
      // The compose network's Redis, without a password in the example.
      expect(new URL(entry.value).password).toBe('');
    } else {
      expect(entry.value).toMatch(/replace/i);
    }
  });

  it('copied to .env as is, loads as a valid configuration (the optional lines stay commented out)', () => {
    const config = loadConfig(activeEnv());
    expect(config.slack.mode).toBe('http');
    // Containers listen on every interface, explicitly; the bot's own default is 127.0.0.1.
    expect(config.http).toEqual({
      host: '0.0.0.0',
      port: settingDefault('PORT'),
      metricsPort: settingDefault('METRICS_PORT'),
      workerPort: settingDefault('WORKER_PORT'),
    });
    expect(settingDefault('HOST')).toBe('127.0.0.1');
    // Prod stays default deny until someone is named.
    expect(config.access.promote.prod).toEqual({ users: [], groups: [] });
  });

  it('shows the GitHub App settings, which go together, in the same state (all commented out)', () => {
    // The App's installation credentials (GITHUB_APP_CLIENT_* belong to the approvals' device flow).
    const app = envExample.entries.filter(
      (e) => e.key.startsWith('GITHUB_APP_') && !e.key.startsWith('GITHUB_APP_CLIENT_'),
    );
    expect(app.map((e) => e.key).sort()).toEqual([
      'GITHUB_APP_ID',
      'GITHUB_APP_INSTALLATION_ID',
      'GITHUB_APP_PRIVATE_KEY',
    ]);
    expect(new Set(app.map((e) => e.active))).toEqual(new Set([false]));
    // Uncommented together (the PEM on one line with \n), they load as App auth.
    const config = loadConfig({ ...activeEnv(), ...Object.fromEntries(app.map((e) => [e.key, e.value])) });
    expect(config.github.auth.kind).toBe('app');
  });

  it('.env itself is never committed nor sent to a Docker build', () => {
    expect(readRepoFile('.gitignore').split('\n')).toContain('.env');
    expect(readRepoFile('.dockerignore').split('\n')).toContain('.env');
  });
});

// ---- docker-compose.yml -----------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: string | { context: string };
  command?: string | string[];
  env_file?: string | Array<string | { path: string }>;
  environment?: Record<string, string> | string[];
  ports?: Array<string | { target: number; published: string | number }>;
  volumes?: Array<string | { type: string; source: string; target: string }>;
  depends_on?: string[] | Record<string, { condition: string }>;
  restart?: string;
  healthcheck?: { test: string | string[] };
  mem_limit?: string;
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = yamlDocument<Compose>('docker-compose.yml');
const service = (name: string): ComposeService => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};
const words = (command: string | string[] | undefined): string[] =>
  command === undefined ? [] : Array.isArray(command) ? command.map(String) : command.trim().split(/\s+/);
const envFiles = (s: ComposeService): string[] =>
  (Array.isArray(s.env_file) ? s.env_file : s.env_file ? [s.env_file] : []).map((f) =>
    typeof f === 'string' ? f : f.path,
  );
const environment = (s: ComposeService): Record<string, string> =>
  Array.isArray(s.environment)
    ? Object.fromEntries(s.environment.map((e) => e.split('=') as [string, string]))
    : (s.environment ?? {});
/** Resolves ${VAR:-default} the way compose does when VAR is unset. */
const withDefaults = (value: string): string => value.replace(/\$\{\w+:-([^}]*)\}/g, '$1');
const containerPorts = (s: ComposeService): number[] =>
  (s.ports ?? []).map((p) => (typeof p === 'string' ? Number(p.split(':').at(-1)!.split('/')[0]) : p.target));
/** Published ports as { hostIp, published, target } ("3000:3000" has no host IP: every interface). */
const publishedPorts = (s: ComposeService) =>
  (s.ports ?? []).map((p) => {
    if (typeof p !== 'string') return { hostIp: undefined, published: String(p.published), target: p.target };
    const parts = withDefaults(p).split('/')[0]!.split(':');
    const target = Number(parts.at(-1));
    return parts.length === 3
      ? { hostIp: parts[0], published: parts[1]!, target }
      : { hostIp: undefined, published: parts.length === 2 ? parts[0]! : '', target };
  });
/** A Deployment's container in deploy/, for comparing compose with it. */
const deployContainer = (file: string) =>
  yamlDocuments<V1Deployment>(file).find((d) => d.kind === 'Deployment')!.spec!.template.spec!.containers[0]!;

describe('docker-compose.yml', () => {
  it('runs exactly redis, web and worker', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['redis', 'web', 'worker']);
  });

  it('redis: Redis 7 with AOF, appendfsync everysec and maxmemory-policy noeviction', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7(\.\d+)*(-[a-z0-9.-]+)?$/);
    const args = words(redis.command);
    expect(args[0]).toBe('redis-server');
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(args).toContain('--appendonly');
    expect(flag('--appendonly')).toBe('yes');
    expect(flag('--appendfsync')).toBe('everysec');
    expect(flag('--maxmemory-policy')).toBe('noeviction');
  });

  it('redis: keeps its data (AOF) on a named volume at /data, and has a healthcheck', () => {
    const redis = service('redis');
    const data = (redis.volumes ?? []).map((v) =>
      typeof v === 'string' ? v.split(':') : [v.source, v.target],
    );
    const mount = data.find(([, target]) => target === '/data');
    expect(mount).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(mount![0]);
    expect(words(redis.healthcheck?.test as string | string[]).join(' ')).toMatch(/redis-cli ping/);
    expect(redis.restart).toMatch(/^(always|unless-stopped|on-failure)/);
  });

  it.each([
    ['web', 'web'],
    ['worker', 'worker'],
  ])('%s: the image role %s, with .env, after Redis is healthy, restarting', (name, role) => {
    const s = service(name);
    expect(words(s.command)).toEqual([role]);
    expect(envFiles(s)).toEqual(['.env']);
    expect(Array.isArray(s.depends_on)).toBe(false);
    expect((s.depends_on as Record<string, { condition: string }>).redis).toEqual({
      condition: 'service_healthy',
    });
    expect(s.restart).toMatch(/^(always|unless-stopped|on-failure)/);
    const context = typeof s.build === 'string' ? s.build : s.build?.context;
    expect(context).toBe('.');
    expect(fs.existsSync(path.join(repoRoot, context!, 'Dockerfile'))).toBe(true);
  });

  it('web and worker run the same image', () => {
    expect(service('web').image).toBeDefined();
    expect(service('worker').image).toBe(service('web').image);
  });

  it('web: publishes the web port (PORT, as in .env.example)', () => {
    const port = Number(envExample.entries.find((e) => e.key === 'PORT')!.value);
    expect(port).toBe(settingDefault('PORT'));
    expect(containerPorts(service('web'))).toEqual([port]);
  });

  it('HOST is 0.0.0.0 in both containers, set in compose itself (a .env may carry the default 127.0.0.1)', () => {
    for (const name of ['web', 'worker'])
      expect({ name, HOST: environment(service(name)).HOST }).toEqual({ name, HOST: '0.0.0.0' });
    expect(settingDefault('HOST')).toBe('127.0.0.1');
  });

  it('/metrics is never published: only PORT leaves the host network, METRICS_PORT and WORKER_PORT stay private', () => {
    const privatePorts = [settingDefault('METRICS_PORT'), settingDefault('WORKER_PORT')].map(Number);
    for (const [name, s] of Object.entries(compose.services)) {
      for (const p of publishedPorts(s)) {
        // A private port may be published only on the loopback address, never on every interface.
        if (privatePorts.includes(p.target))
          expect({ name, port: p.target, hostIp: p.hostIp }).toEqual({
            name,
            port: p.target,
            hostIp: '127.0.0.1',
          });
      }
    }
    expect(publishedPorts(service('web')).map((p) => p.target)).toEqual([settingDefault('PORT')]);
    expect(publishedPorts(service('worker'))).toEqual([]);
  });

  it.each([
    ['web', 'deploy/web.yaml'],
    ['worker', 'deploy/worker.yaml'],
  ])('%s: the memory limit and heap ceiling of %s', (name, file) => {
    const c = deployContainer(file);
    const limit = /^(\d+)Mi$/.exec(String(c.resources!.limits!.memory))![1];
    expect(service(name).mem_limit).toBe(`${limit}m`);
    expect(environment(service(name)).NODE_OPTIONS).toBe(
      c.env!.find((e) => e.name === 'NODE_OPTIONS')!.value,
    );
  });

  it('worker: the image HEALTHCHECK probes WORKER_PORT, and KUBECONFIG points at the mounted kubeconfig', () => {
    const worker = service('worker');
    const env = environment(worker);
    expect(Number(withDefaults(env.HEALTHCHECK_PORT!))).toBe(settingDefault('WORKER_PORT'));
    const targets = (worker.volumes ?? []).map((v) =>
      typeof v === 'string' ? withDefaults(v).split(':')[1] : v.target,
    );
    expect(targets).toContain(env.KUBECONFIG);
    expect(containerPorts(worker)).toEqual([]);
  });

  it("the .env.example REDIS_URL is the compose service's Redis", () => {
    const url = new URL(envExample.entries.find((e) => e.key === 'REDIS_URL')!.value);
    expect(url.hostname).toBe('redis');
    expect(Number(url.port || 6379)).toBe(6379);
  });

  it('passes no secret inline: secrets come from .env only', () => {
    for (const name of ['web', 'worker']) {
      for (const key of Object.keys(environment(service(name)))) expect(SECRET_ENVS.has(key)).toBe(false);
    }
  });
});
