// A loopback git server for Kargo's Warehouse: Debian's `git http-backend` (smart HTTP, the CGI program
// that ships with git) behind a small Node HTTP → CGI bridge on 127.0.0.1, serving a bare clone of a local
// repository. Kargo's git client (the git CLI) clones and fetches from it exactly as from GitHub over HTTPS,
// so freight discovery is real: new commits made here with commit() become new Freight once the Warehouse
// looks again.
//
//   Kargo controller ──git fetch (smart HTTP)──► Node bridge (127.0.0.1) ──CGI──► git http-backend ──► bare repo
//
// Read-only: http-backend refuses pushes (receive-pack needs an authenticated REMOTE_USER, never set here).
// Used by the real-controller integration suite (test/integration/kargo-controller.test.ts) and by the
// sandbox when it runs the real Kargo controller.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Where Debian's git package installs the CGI program (`git --exec-path` on other systems). */
export const DEBIAN_GIT_HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

/** The http-backend binary, or undefined when git (with its CGI program) is not installed. */
export function findGitHttpBackend(): string | undefined {
  const candidates = [DEBIAN_GIT_HTTP_BACKEND];
  try {
    const execPath = execFileSync('git', ['--exec-path'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (execPath) candidates.push(path.join(execPath, 'git-http-backend'));
  } catch {
    // no git on PATH
  }
  return candidates.find((file) => existsSync(file));
}

export interface GitServerOptions {
  /** The local repository to serve (a bare clone of it is made). */
  sourceRepo: string;
  /** Path of the served repository under the server's URL. Default `acme/gitops-infra-pipeline.git`. */
  repoPath?: string;
  /** Branch served; it points at `sourceRef` of the source repository. Default `main`. */
  branch?: string;
  /** Commit-ish in the source repository the branch starts at. Default `HEAD`. */
  sourceRef?: string;
  /** Parent directory of the server's temporary directory. Default os.tmpdir(). */
  tmpDir?: string;
  /**
   * Where a commit's web page is (the sandbox console's). A GET of `<repoPath without .git>/commit/<sha>` —
   * the commit link a chat client makes from the repository URL — is redirected there; without it that
   * path is http-backend's (404).
   */
  commitPage?: (sha: string) => string;
}

export interface GitCommitInput {
  /** Files to write (path relative to the repository root → content). */
  files: Record<string, string>;
  message: string;
  author?: { name: string; email: string };
}

/** One request the bridge served (for tests: what Kargo fetched). */
export interface GitRequestRecord {
  method: string;
  path: string;
  service?: string;
  status: number;
}

export interface GitServer {
  /** http://127.0.0.1:<port>/<repoPath> — what a Warehouse subscribes to. */
  repoUrl: string;
  /** http://127.0.0.1:<port> */
  url: string;
  branch: string;
  /** The bare repository on disk. */
  bareDir: string;
  /** The branch's current commit. */
  head(): Promise<string>;
  /** Newest commit on the branch touching one of `paths` (Kargo's includePaths are directory prefixes). */
  newestTouching(paths: string[]): Promise<string | undefined>;
  /** Commits `files` on top of the branch, as a push to it would; returns the new commit id. */
  commit(input: GitCommitInput): Promise<string>;
  requests(): GitRequestRecord[];
  stop(): Promise<void>;
}

const GIT_ENV_KEEP = ['PATH', 'LANG', 'LC_ALL'];

/** An environment for git commands that ignores the user's and the system's git configuration. */
function gitEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of GIT_ENV_KEEP) if (process.env[key]) env[key] = process.env[key];
  return {
    ...env,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const backend = findGitHttpBackend();
  if (!backend) {
    throw new Error(
      `git http-backend not found (${DEBIAN_GIT_HTTP_BACKEND}): install git (apt-get install git)`,
    );
  }
  const repoPath = (options.repoPath ?? 'acme/gitops-infra-pipeline.git').replace(/^\/+/, '');
  if (!/^[\w.-]+(\/[\w.-]+)*\.git$/.test(repoPath) || repoPath.split('/').includes('..')) {
    throw new Error(`repoPath must look like owner/name.git, got ${repoPath}`);
  }
  const branch = options.branch ?? 'main';
  const root = mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), 'git-server-'));
  const home = path.join(root, 'home');
  mkdirSync(home);
  const projectRoot = path.join(root, 'repos');
  const bareDir = path.join(projectRoot, repoPath);
  const git = async (args: string[], extra: Record<string, string> = {}, cwd = bareDir) =>
    (await execFileAsync('git', args, { cwd, env: gitEnv(home, extra), maxBuffer: 16 * 1024 * 1024 })).stdout;

  let server: Server | undefined;
  try {
    mkdirSync(path.dirname(bareDir), { recursive: true });
    // The source commit first (a detached or differently named branch in CI must not matter).
    const sourceSha = (
      await git(['rev-parse', '--verify', `${options.sourceRef ?? 'HEAD'}^{commit}`], {}, options.sourceRepo)
    ).trim();
    await git(['init', '--bare', '--quiet', `--initial-branch=${branch}`, bareDir], {}, root);
    // Fetch the whole history reachable from that commit into the bare repository's branch.
    await git([
      'fetch',
      '--quiet',
      '--no-tags',
      path.resolve(options.sourceRepo),
      `+${sourceSha}:refs/heads/${branch}`,
    ]);
    await git(['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
    writeFileSync(path.join(bareDir, 'git-daemon-export-ok'), '');

    const log: GitRequestRecord[] = [];
    const commitPath = `/${repoPath.replace(/\.git$/, '')}/commit/`;
    server = createServer((req, res) => {
      const pathname = new URL(req.url ?? '/', 'http://git.invalid').pathname;
      const sha = pathname.startsWith(commitPath) ? pathname.slice(commitPath.length) : undefined;
      if (options.commitPage && req.method === 'GET' && sha !== undefined && /^[0-9a-f]{4,40}$/.test(sha)) {
        log.push({ method: 'GET', path: pathname, status: 302 });
        res.writeHead(302, { location: options.commitPage(sha) });
        res.end();
        return;
      }
      serveCgi(backend, projectRoot, home, req, res, log);
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(0, '127.0.0.1', () => resolve());
    });
    const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;

    const identity = (author?: { name: string; email: string }): Record<string, string> => {
      const who = author ?? { name: 'Dana Dev', email: 'dana@example.com' };
      return {
        GIT_AUTHOR_NAME: who.name,
        GIT_AUTHOR_EMAIL: who.email,
        GIT_COMMITTER_NAME: who.name,
        GIT_COMMITTER_EMAIL: who.email,
      };
    };
    let commitChain: Promise<unknown> = Promise.resolve();

    return {
      repoUrl: `${url}/${repoPath}`,
      url,
      branch,
      bareDir,
      head: async () => (await git(['rev-parse', `refs/heads/${branch}`])).trim(),
      newestTouching: async (paths) => {
        const out = (await git(['log', '-1', '--format=%H', `refs/heads/${branch}`, '--', ...paths])).trim();
        return out || undefined;
      },
      commit: (input) => {
        // Plumbing only (the repository is bare): a temporary index on top of the branch's tree.
        const run = async (): Promise<string> => {
          const parent = (await git(['rev-parse', `refs/heads/${branch}`])).trim();
          const index = path.join(root, `index-${process.pid}-${Date.now()}`);
          const env = { GIT_INDEX_FILE: index };
          try {
            await git(['read-tree', parent], env);
            for (const [file, content] of Object.entries(input.files)) {
              if (path.isAbsolute(file) || file.split('/').includes('..')) {
                throw new Error(`commit(): file path must be relative to the repository: ${file}`);
              }
              const blob = await new Promise<string>((resolve, reject) => {
                const child = spawn('git', ['hash-object', '-w', '--stdin'], {
                  cwd: bareDir,
                  env: gitEnv(home),
                  stdio: ['pipe', 'pipe', 'pipe'],
                });
                let out = '';
                let err = '';
                child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
                child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
                child.on('error', reject);
                child.on('close', (code) =>
                  code === 0 ? resolve(out.trim()) : reject(new Error(`git hash-object: ${err.trim()}`)),
                );
                child.stdin.end(content);
              });
              await git(['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`], env);
            }
            const tree = (await git(['write-tree'], env)).trim();
            const sha = (
              await git(['commit-tree', tree, '-p', parent, '-m', input.message], identity(input.author))
            ).trim();
            await git(['update-ref', `refs/heads/${branch}`, sha, parent]);
            return sha;
          } finally {
            rmSync(index, { force: true });
          }
        };
        const result = commitChain.then(run, run);
        commitChain = result.catch(() => undefined);
        return result;
      },
      requests: () => [...log],
      stop: async () => {
        listening.closeAllConnections();
        await new Promise<void>((resolve) => listening.close(() => resolve()));
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    server?.close();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

/** One request through git http-backend (RFC 3875 CGI): request body to stdin, CGI headers back as HTTP. */
function serveCgi(
  backend: string,
  projectRoot: string,
  home: string,
  req: IncomingMessage,
  res: ServerResponse,
  log: GitRequestRecord[],
): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const record: GitRequestRecord = {
    method: req.method ?? 'GET',
    path: url.pathname,
    ...(url.searchParams.get('service') ? { service: url.searchParams.get('service')! } : {}),
    status: 0,
  };
  log.push(record);
  if (req.method !== 'GET' && req.method !== 'POST') {
    record.status = 405;
    res.writeHead(405, { allow: 'GET, POST' }).end();
    return;
  }
  const header = (name: string): string => {
    const value = req.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : (value ?? '');
  };
  const env = gitEnv(home, {
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    SERVER_SOFTWARE: 'gitops-infra-pipeline-git-bridge',
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    CONTENT_TYPE: header('content-type'),
    ...(header('content-length') ? { CONTENT_LENGTH: header('content-length') } : {}),
    ...(header('content-encoding') ? { HTTP_CONTENT_ENCODING: header('content-encoding') } : {}),
    // Protocol v2 (git ≥ 2.18 asks for it with this header).
    ...(header('git-protocol') ? { GIT_PROTOCOL: header('git-protocol') } : {}),
  });
  const child = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined); // the backend may exit before reading everything

  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    const endLf = head.indexOf('\n\n');
    const cut = end >= 0 ? end : endLf;
    if (cut < 0) return;
    const sep = end >= 0 ? 4 : 2;
    const lines = head.subarray(0, cut).toString('latin1').split(/\r?\n/);
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
      else headers[name] = value;
    }
    headersDone = true;
    record.status = status;
    res.writeHead(status, headers);
    const rest = head.subarray(cut + sep);
    if (rest.length > 0) res.write(rest);
  });
  child.on('error', (err) => {
    record.status = 500;
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`git http-backend failed: ${err.message}`);
  });
  child.on('close', (code) => {
    if (!headersDone) {
      record.status = 500;
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`git http-backend exited ${code}: ${stderr.trim()}`);
      return;
    }
    res.end();
  });
}
