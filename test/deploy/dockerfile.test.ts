// The Dockerfile and .dockerignore, checked without a Docker engine: the Dockerfile is parsed into stages and
// instructions and held to its promises (multi-stage, pinned bases, non-root numeric user, node HEALTHCHECK
// that really works, no remote ADD, nothing secret baked in, HOST=0.0.0.0 and the settings' default ports in
// ENV, EXPOSE = the public port only, entry point dist/main.js), and every file it COPYs must exist — in the build context and not ignored, or be
// produced by the stage it is copied from (npm ci → node_modules, npm run build → tsconfig.build.json's
// outDir).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CREDENTIAL_PATTERN,
  SECRET_ENVS,
  readRepoFile,
  repoRoot,
  settingDefault,
  yamlDocuments,
} from './helpers.js';
import { REDIS_URL } from '../support/redis.js';

// ---- a small Dockerfile parser ----------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  line: number;
}

interface Stage {
  index: number;
  name?: string;
  /** The FROM argument with build args resolved. */
  base: string;
  /** Set when `base` is an earlier stage. */
  parent?: Stage;
  instructions: Instruction[];
}

function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!.trim();
    if (first === '' || first.startsWith('#')) continue;
    const start = i + 1;
    let joined = first;
    // Continuation: a trailing backslash; comment lines inside a continuation are dropped (as Docker does).
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      joined = joined.slice(0, -1);
      i += 1;
      const next = lines[i]!.trim();
      if (next.startsWith('#')) {
        joined += '\\';
        continue;
      }
      joined += ` ${next}`;
    }
    const match = /^(\S+)\s*(.*)$/s.exec(joined)!;
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start });
  }
  return out;
}

const substitute = (value: string, vars: Record<string, string>): string =>
  value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    if (!(name in vars)) throw new Error(`build arg ${name} has no default`);
    return vars[name]!;
  });

function parseDockerfile(text: string): { stages: Stage[]; globalArgs: Record<string, string> } {
  const instructions = parseInstructions(text);
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const base = substitute(words[0]!, globalArgs);
      const name = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      const parent = stages.find((s) => s.name === base);
      stages.push({
        index: stages.length,
        base,
        instructions: [],
        ...(name ? { name } : {}),
        ...(parent ? { parent } : {}),
      });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      const [name, value = ''] = ins.args.split('=');
      globalArgs[name!.trim()] = value.trim();
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { stages, globalArgs };
}

/** An exec-form (JSON array) argument, e.g. of ENTRYPOINT, CMD or HEALTHCHECK ... CMD. */
function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
    throw new Error(`not an exec-form array: ${args}`);
  }
  return parsed as string[];
}

interface Copy {
  from?: string;
  sources: string[];
  dest: string;
  line: number;
}

function copiesOf(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      return { sources: paths.slice(0, -1), dest: paths.at(-1)!, line: i.line, ...(from ? { from } : {}) };
    });
}

/** WORKDIR in effect at the end of a stage, following its parent stages. */
function workdirOf(stage: Stage): string {
  const own = stage.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args;
  if (own) return own;
  return stage.parent ? workdirOf(stage.parent) : '/';
}

const runsOf = (stage: Stage): string[] => [
  ...(stage.parent ? runsOf(stage.parent) : []),
  ...stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args),
];

// ---- a .dockerignore matcher (the pattern subset this repository uses: *, **, trailing /, ! exceptions) ---

function dockerignore(text: string): (file: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = path.posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, ''));
      const source = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      return { negate, regex: new RegExp(`^${source}$`) };
    });
  return (file: string) => {
    // A path is excluded when it, or a parent directory of it, matches; the last matching rule wins.
    const parts = path.posix.normalize(file).split('/');
    let excluded = false;
    for (const rule of rules) {
      for (let n = 1; n <= parts.length; n++) {
        if (rule.regex.test(parts.slice(0, n).join('/'))) {
          excluded = !rule.negate;
          break;
        }
      }
    }
    return excluded;
  };
}

// ---- the files under test ---------------------------------------------------------------------------------

const dockerfileText = readRepoFile('Dockerfile');
const { stages, globalArgs } = parseDockerfile(dockerfileText);
const final = stages.at(-1)!;
const finalOf = (keyword: string): Instruction[] => final.instructions.filter((i) => i.keyword === keyword);
const ignored = dockerignore(readRepoFile('.dockerignore'));
const packageJson = JSON.parse(readRepoFile('package.json')) as {
  version: string;
  type?: string;
  engines?: { node?: string };
  scripts: Record<string, string>;
};

describe('Dockerfile: stages and base images', () => {
  it('is multi-stage: dependencies and the TypeScript build stay out of the runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const installs = stages.filter((s) =>
      s.instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args)),
    );
    expect(installs.length).toBeGreaterThanOrEqual(1);
    const build = stages.find((s) =>
      s.instructions.some((i) => i.keyword === 'RUN' && /npm run build/.test(i.args)),
    );
    expect(build).toBeDefined();
    expect(build).not.toBe(final);
    // The runtime stage neither compiles nor installs dev dependencies.
    expect(finalOf('RUN').some((i) => /npm (run build|ci(?![^\n]*--omit=dev))|tsc\b/.test(i.args))).toBe(
      false,
    );
  });

  it('pins every external base image to a version tag (never latest, never a floating name)', () => {
    for (const stage of stages.filter((s) => !s.parent)) {
      const [reference, digest] = stage.base.split('@');
      const tag = /:([^/:]+)$/.exec(reference!)?.[1];
      expect({ base: stage.base, tag }).toEqual({
        base: stage.base,
        tag: expect.stringMatching(/^\d+\.\d+\.\d+(-[a-z0-9.-]+)?$/),
      });
      if (digest) expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    }
  });

  it('runs on a small Node 24 LTS image (slim or alpine), the release tools/versions.env pins, within package.json engines', () => {
    const base = final.parent ? final.parent.base : final.base;
    const match = /^node:(\d+)\.(\d+)\.(\d+)-(bookworm-slim|alpine[\d.]*)(@sha256:[a-f0-9]{64})?$/.exec(base);
    expect(match).not.toBeNull();
    const [major, minor] = [Number(match![1]), Number(match![2])];
    expect(major).toBe(24);
    const pinned = /^NODE_VERSION=(\S+)$/m.exec(readRepoFile('tools/versions.env'))?.[1];
    expect(`${match![1]}.${match![2]}.${match![3]}`).toBe(pinned);
    const engines = /^>=\s*(\d+)(?:\.(\d+))?/.exec(packageJson.engines?.node ?? '');
    expect(engines).not.toBeNull();
    expect(major * 1000 + minor).toBeGreaterThanOrEqual(
      Number(engines![1]) * 1000 + Number(engines![2] ?? 0),
    );
    // One Node for every stage: what was compiled and installed is what runs.
    const externals = new Set(stages.filter((s) => !s.parent).map((s) => s.base));
    expect([...externals]).toEqual([base]);
    expect(Object.keys(globalArgs).length).toBeGreaterThan(0);
  });

  it('never ADDs from a remote URL or git repository (COPY only)', () => {
    const adds = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'ADD'));
    for (const add of adds) expect(add.args).not.toMatch(/https?:\/\/|git@|\.git\b/);
    expect(adds).toEqual([]);
  });
});

describe('Dockerfile: the runtime stage', () => {
  it('runs as the non-root numeric user 10001, the uid the Kubernetes manifests expect', () => {
    const user = finalOf('USER').at(-1)?.args;
    expect(user).toMatch(/^10001(:10001)?$/);
    // Numeric on purpose: Kubernetes' runAsNonRoot can only verify a numeric USER.
    const { runAsUser } = podSecurityContext('deploy/web.yaml');
    expect(String(runAsUser)).toBe(user!.split(':')[0]);
    expect(String(podSecurityContext('deploy/worker.yaml').runAsUser)).toBe(user!.split(':')[0]);
    // The user exists in the image (created in this stage), so tools that look it up see a name.
    expect(
      finalOf('RUN').some((i) => /useradd\b.*--uid 10001/.test(i.args) || /adduser\b.*-u 10001/.test(i.args)),
    ).toBe(true);
  });

  it('bakes no secret in: no ARG/ENV named like a credential, no credential-looking value, no .env copied', () => {
    for (const stage of stages) {
      for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
        const names = [...ins.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)/g)].map((m) => m[1]!);
        for (const name of names) {
          expect({ line: ins.line, name, secretSetting: SECRET_ENVS.has(name) }).toEqual({
            line: ins.line,
            name,
            secretSetting: false,
          });
          expect(name).not.toMatch(/TOKEN|SECRET|PASSWORD|PRIVATE|CREDENTIAL|API_KEY/i);
        }
      }
      for (const copy of copiesOf(stage)) {
        for (const source of copy.sources) expect(source).not.toMatch(/(^|\/)\.env|secret|\.pem$|\.key$/i);
      }
    }
    expect(dockerfileText).not.toMatch(CREDENTIAL_PATTERN);
    for (const name of Object.keys(globalArgs)) expect(name).not.toMatch(/TOKEN|SECRET|PASSWORD|PRIVATE/i);
  });

  /** The runtime stage's ENV, as KEY → value. */
  const runtimeEnv = (): Record<string, string> =>
    Object.fromEntries(
      finalOf('ENV')
        .flatMap((i) => [...i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)])
        .map((m) => [m[1]!, m[2]!]),
    );

  it('HOST is 0.0.0.0 in the image: set explicitly (the bot itself defaults to 127.0.0.1)', () => {
    expect(settingDefault('HOST')).toBe('127.0.0.1');
    expect(runtimeEnv().HOST).toBe('0.0.0.0');
  });

  it('sets PORT, METRICS_PORT and WORKER_PORT to the defaults, but no NODE_OPTIONS (the limit decides it)', () => {
    const env = runtimeEnv();
    expect({ PORT: env.PORT, METRICS_PORT: env.METRICS_PORT, WORKER_PORT: env.WORKER_PORT }).toEqual({
      PORT: String(settingDefault('PORT')),
      METRICS_PORT: String(settingDefault('METRICS_PORT')),
      WORKER_PORT: String(settingDefault('WORKER_PORT')),
    });
    expect(env.NODE_ENV).toBe('production');
    expect(env.NODE_OPTIONS).toBeUndefined();
  });

  it('EXPOSEs the public port only: `docker run -P` never publishes METRICS_PORT or WORKER_PORT', () => {
    const exposed = finalOf('EXPOSE')
      .flatMap((i) => i.args.split(/\s+/))
      .map((p) => Number(p.split('/')[0]));
    expect(exposed).toEqual([settingDefault('PORT')]);
  });

  it('starts `node dist/main.js` with a role as the command (default all)', () => {
    expect(execForm(finalOf('ENTRYPOINT').at(-1)!.args)).toEqual(['node', 'dist/main.js']);
    const cmd = execForm(finalOf('CMD').at(-1)!.args);
    expect(cmd).toEqual(['all']);
    // dist/main.js is what `npm run build` makes of src/main.ts, and main.ts accepts the roles the image is
    // run with (CMD here; docker-compose.yml and deploy/ run `web` and `worker`).
    const roles = /\bROLES\b[^=]*=\s*\[([^\]]*)\]/.exec(readRepoFile('src/main.ts'))?.[1];
    expect(roles).toBeDefined();
    const accepted = [...roles!.matchAll(/'([a-z]+)'/g)].map((m) => m[1]);
    expect(accepted).toEqual(expect.arrayContaining(['web', 'worker', ...cmd]));
  });

  it('has a HEALTHCHECK in exec form that uses node (no curl in slim images) against /healthz on $PORT (the public listener)', () => {
    const healthcheck = finalOf('HEALTHCHECK');
    expect(healthcheck).toHaveLength(1);
    const args = healthcheck[0]!.args;
    expect(args).toMatch(/--interval=\d+s/);
    expect(args).toMatch(/--timeout=\d+s/);
    const command = healthCheckCommand();
    expect(command[0]).toBe('node');
    expect(command.join(' ')).toMatch(/\/healthz/);
    expect(command.join(' ')).toMatch(/process\.env\.PORT/);
    expect(command.join(' ')).not.toMatch(/\bcurl\b|\bwget\b/);
  });

  it('carries what dist/ needs at run time: package.json ("type": "module") and the directories src/ reads', () => {
    const copied = copiesOf(final).flatMap((c) => c.sources.map((s) => path.posix.normalize(s)));
    expect(packageJson.type).toBe('module');
    expect(copied).toContain('package.json');
    // Directories the bot's modules resolve next to the package root, e.g. src/artifacts/validate.ts →
    // schemas/. Left out: src/cli (developer commands) and src/sandbox (the local sandbox): neither runs in
    // the image.
    const runtimeSources = listFiles(path.join(repoRoot, 'src')).filter(
      (f) => !/[\\/]src[\\/](cli|sandbox)[\\/]/.test(f),
    );
    const needed = new Set<string>();
    for (const file of runtimeSources) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/'\.\.',\s*'\.\.',\s*'(?!\.\.')([^']+)'/g)) needed.add(m[1]!);
    }
    expect([...needed].length).toBeGreaterThan(0);
    for (const dir of needed) expect(copied).toContain(dir);
  });

  it('installs production dependencies only (npm ci --omit=dev) and copies them into the runtime stage', () => {
    const modules = copiesOf(final).find((c) => c.sources.some((s) => /node_modules$/.test(s)));
    const source = modules ? stages.find((s) => s.name === modules.from) : final;
    expect(source).toBeDefined();
    expect(runsOf(source!).some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
  });
});

describe('Dockerfile: every COPY source exists', () => {
  const contextCopies = stages.flatMap((stage) =>
    copiesOf(stage)
      .filter((c) => !c.from)
      .map((c) => ({ stage, ...c })),
  );
  const stageCopies = stages.flatMap((stage) =>
    copiesOf(stage)
      .filter((c) => c.from)
      .map((c) => ({ stage, ...c })),
  );

  it.each(contextCopies.flatMap((c) => c.sources.map((source) => [source, c.line] as const)))(
    'build context: %s (line %d) exists and is not excluded by .dockerignore',
    (source) => {
      expect(fs.existsSync(path.join(repoRoot, source))).toBe(true);
      expect(ignored(source)).toBe(false);
      if (fs.statSync(path.join(repoRoot, source)).isDirectory()) {
        const files = listFiles(path.join(repoRoot, source)).map((f) =>
          path.relative(repoRoot, f).split(path.sep).join('/'),
        );
        expect(files.filter((f) => !ignored(f)).length).toBeGreaterThan(0);
      }
    },
  );

  it.each(stageCopies.flatMap((c) => c.sources.map((source) => [source, c.from!, c.line] as const)))(
    'stage output: %s from stage %s (line %d) is produced by that stage',
    (source, from) => {
      const stage = stages.find((s) => s.name === from);
      expect(stage).toBeDefined();
      const relative = path.posix.relative(workdirOf(stage!), source);
      if (relative === 'node_modules') {
        // npm ci from the lockfile that stage copied in.
        expect(runsOf(stage!).some((r) => /\bnpm ci\b/.test(r))).toBe(true);
        const lockCopied = [stage!, stage!.parent]
          .filter(Boolean)
          .some((s) => copiesOf(s!).some((c) => c.sources.includes('package-lock.json')));
        expect(lockCopied).toBe(true);
        return;
      }
      // npm run build = tsc -p tsconfig.build.json, whose outDir is what is copied; src/main.ts →
      // dist/main.js.
      expect(runsOf(stage!).some((r) => /npm run build/.test(r))).toBe(true);
      const tsc = /^tsc -p (\S+)$/.exec(packageJson.scripts.build ?? '');
      expect(tsc).not.toBeNull();
      const buildConfig = JSON.parse(readRepoFile(tsc![1]!)) as {
        compilerOptions: { outDir: string; rootDir: string };
      };
      expect(relative).toBe(path.posix.normalize(buildConfig.compilerOptions.outDir));
      expect(fs.existsSync(path.join(repoRoot, buildConfig.compilerOptions.rootDir, 'main.ts'))).toBe(true);
      // And that tsconfig, the sources and the package files were copied into the build stage.
      const inBuild = [stage!, stage!.parent]
        .filter(Boolean)
        .flatMap((s) => copiesOf(s!).flatMap((c) => c.sources));
      for (const needed of [
        tsc![1]!,
        'tsconfig.json',
        buildConfig.compilerOptions.rootDir,
        'package.json',
        'package-lock.json',
      ]) {
        expect(inBuild).toContain(needed);
      }
      // After a local `npm run build`, the entry point is really there.
      if (fs.existsSync(path.join(repoRoot, relative))) {
        expect(fs.existsSync(path.join(repoRoot, relative, 'main.js'))).toBe(true);
      }
    },
  );

  it('found COPY instructions of both kinds to check', () => {
    expect(contextCopies.length).toBeGreaterThan(0);
    expect(stageCopies.length).toBeGreaterThan(0);
  });
});

describe('.dockerignore', () => {
  it('keeps secrets, dependencies, VCS, caches, coverage and Terraform state out of the build context', () => {
    for (const file of [
      '.env',
      '.env.local',
      'node_modules/yaml/package.json',
      '.git/HEAD',
      '.cache/envtest/log',
      'coverage/lcov.info',
      'dist/main.js',
      'terraform/aws/dev/terraform.tfstate',
      'somewhere/terraform.tfstate.backup',
      'somewhere/.terraform/providers/x',
      'plan.tfplan',
      'deploy/secret.yaml',
      'kargo/secret.yaml',
    ]) {
      expect({ file, ignored: ignored(file) }).toEqual({ file, ignored: true });
    }
  });

  it('keeps what the image needs', () => {
    for (const file of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src/main.ts',
      'schemas',
    ]) {
      expect({ file, ignored: ignored(file) }).toEqual({ file, ignored: false });
    }
  });
});

// ---- the HEALTHCHECK, run for real against a local server -------------------------------------------------

function healthCheckCommand(): string[] {
  const args = finalOf('HEALTHCHECK')[0]!.args;
  const json = /\bCMD\s+(\[.*\])\s*$/s.exec(args);
  if (!json) throw new Error(`HEALTHCHECK is not in exec form: ${args}`);
  return execForm(json[1]!);
}

function runHealthCheck(env: Record<string, string>): Promise<number> {
  const [, ...args] = healthCheckCommand();
  return new Promise((resolve, reject) => {
    // cwd = the repository root, whose package.json is "type": "module" like /app in the image.
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}

describe('Dockerfile: the HEALTHCHECK command works', () => {
  let status = 200;
  const hits: string[] = [];
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(req.url === '/healthz' ? status : 404);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('exits 0 when /healthz on $PORT answers 200', async () => {
    status = 200;
    hits.length = 0;
    expect(await runHealthCheck({ PORT: String(port) })).toBe(0);
    expect(hits).toEqual(['/healthz']);
  });

  it('exits 1 when /healthz answers an error', async () => {
    status = 503;
    expect(await runHealthCheck({ PORT: String(port) })).toBe(1);
  });

  it('exits 1 when nothing listens on $PORT', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const p = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    expect(await runHealthCheck({ PORT: String(closed) })).toBe(1);
  });

  it('probes HEALTHCHECK_PORT instead of PORT when set (the worker-only container)', async () => {
    status = 200;
    expect(await runHealthCheck({ PORT: '1', HEALTHCHECK_PORT: String(port) })).toBe(0);
  });
});

// ---- the runtime stage, assembled without Docker, really runs ---------------------------------------------
//
// What the runtime stage holds, laid out the same way in a temp dir: dist/ from tsconfig.build.json (emit
// only; the type check is `npm run typecheck`'s job), node_modules with the production packages of
// package-lock.json only (what `npm ci --omit=dev` installs), package.json and schemas/. `node dist/main.js
// web` must load its whole module graph from that (a devDependency imported at run time would crash the image
// here), serve /healthz and /readyz against a real Redis, pass the image's HEALTHCHECK, and stop cleanly on
// SIGTERM.

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const p = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });

const httpStatus = (port: number, urlPath: string): Promise<number> =>
  new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: urlPath, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });

const httpBody = (port: number, urlPath: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: urlPath, timeout: 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });

/**
 * Lays out the runtime stage's COPYs in `dir`: context files, the build's outDir, production node_modules.
 */
function assembleRuntime(dir: string): void {
  const workdir = workdirOf(final);
  for (const copy of copiesOf(final)) {
    for (const source of copy.sources) {
      // Docker's rules: a directory's contents go to dest; a file goes into dest/ (trailing slash or several
      // sources) or becomes dest.
      const isDirectory = copy.from !== undefined || fs.statSync(path.join(repoRoot, source)).isDirectory();
      const intoDir = copy.dest.endsWith('/') || copy.sources.length > 1;
      const destination = path.posix.resolve(workdir, copy.dest);
      const inImage =
        isDirectory || !intoDir ? destination : path.posix.join(destination, path.posix.basename(source));
      const target = path.join(dir, path.posix.relative(workdir, inImage));
      if (!copy.from) {
        fs.cpSync(path.join(repoRoot, source), target, { recursive: true });
      } else if (path.posix.basename(source) === 'node_modules') {
        // Top-level production packages of the lockfile, linked (their own nested node_modules come along).
        const lock = JSON.parse(readRepoFile('package-lock.json')) as {
          packages: Record<string, { dev?: boolean; link?: boolean }>;
        };
        for (const [key, meta] of Object.entries(lock.packages)) {
          if (!/^node_modules\/(@[^/]+\/)?[^/]+$/.test(key) || meta.dev || meta.link) continue;
          if (!fs.existsSync(path.join(repoRoot, key))) continue; // an optional package for another platform
          fs.mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
          fs.symlinkSync(path.join(repoRoot, key), path.join(dir, key), 'dir');
        }
      } else {
        // The build stage's output: tsconfig.build.json's outDir.
        const tsc = /^tsc -p (\S+)$/.exec(packageJson.scripts.build ?? '')![1]!;
        execFileSync(
          process.execPath,
          [
            path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
            '-p',
            tsc,
            '--outDir',
            target,
            '--noCheck',
            '--sourceMap',
            'false',
          ],
          { cwd: repoRoot, stdio: 'pipe' },
        );
      }
    }
  }
}

describe('Dockerfile: the runtime stage, assembled without Docker, runs the web role', () => {
  let dir = '';
  let child: ChildProcess | undefined;
  let exit: Promise<number | null> | undefined;
  let output = '';
  let port = 0;
  let metricsPort = 0;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatops-image-'));
    assembleRuntime(dir);
    port = await freePort();
    metricsPort = await freePort();
    const [program, ...entrypoint] = execForm(finalOf('ENTRYPOINT').at(-1)!.args);
    expect(program).toBe('node');
    child = spawn(process.execPath, [...entrypoint, 'web'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        // .env.example as shipped, pointed at this machine: local Redis, a free port, and a Slack API URL
        // that goes nowhere (with both bot ids set, Bolt makes no call at start).
        ...Object.fromEntries(
          readRepoFile('.env.example')
            .split('\n')
            .map((l) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(l.trim()))
            .filter((m): m is RegExpExecArray => m !== null)
            .map((m) => [m[1]!, m[2]!]),
        ),
        REDIS_URL,
        REDIS_PREFIX: `deploy-test-${randomBytes(4).toString('hex')}`,
        // This machine only (the image's 0.0.0.0 is for containers), on free ports.
        HOST: '127.0.0.1',
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        SLACK_API_URL: 'http://127.0.0.1:9/api/',
        SLACK_BOT_USER_ID: 'U0BOT12345',
        SLACK_BOT_ID: 'B0BOT12345',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const running = child;
    exit = new Promise((resolve) => running.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while ((await httpStatus(port, '/healthz')) !== 200) {
      if (running.exitCode !== null) throw new Error(`dist/main.js exited ${running.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`dist/main.js did not serve /healthz in 30 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 180_000);

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads with production dependencies only and serves /healthz and /readyz (Redis up)', async () => {
    expect(await httpStatus(port, '/healthz')).toBe(200);
    expect(await httpStatus(port, '/readyz')).toBe(200);
  });

  it('/metrics is never served on the public port: 404 on PORT, Prometheus text on METRICS_PORT', async () => {
    expect(await httpStatus(port, '/metrics')).toBe(404);
    expect(await httpStatus(metricsPort, '/metrics')).toBe(200);
    const body = await httpBody(metricsPort, '/metrics');
    expect(body).toMatch(/^# HELP /m);
    expect(body).toMatch(/^process_resident_memory_bytes\{process="web"\} \d+/m);
    // The private listener answers the health routes too (a probe may use either port).
    expect(await httpStatus(metricsPort, '/healthz')).toBe(200);
  });

  it("passes the image's HEALTHCHECK", async () => {
    expect(await runHealthCheck({ PORT: String(port) })).toBe(0);
  });

  it('stops with exit code 0 on SIGTERM', async () => {
    child!.kill('SIGTERM');
    expect(await exit).toBe(0);
  }, 30_000);
});

// ---- helpers ----------------------------------------------------------------------------------------------

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full) : [full];
  });
}

function podSecurityContext(file: string): { runAsUser?: number } {
  const deployment = yamlDocuments<{
    kind: string;
    spec: { template: { spec: { securityContext: { runAsUser?: number } } } };
  }>(file).find((d) => d.kind === 'Deployment');
  if (!deployment) throw new Error(`${file}: no Deployment`);
  return deployment.spec.template.spec.securityContext;
}
