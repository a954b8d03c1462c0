// A real Kubernetes API for tests, started the way controller-runtime's envtest does it: an etcd and a
// kube-apiserver as local processes on loopback ports, no kubelet, no controllers. On top of it: Kargo's CRDs
// (../shared/vendor/kargo-crds, byte-for-byte v1.11.2), the Kargo project namespace, and the bot's own
// deploy/serviceaccount.yaml + deploy/rbac.yaml. Tests talk to it as the bot's ServiceAccount (a real
// TokenRequest token), so the Role in deploy/rbac.yaml is what is being tested, and play the Kargo controller's
// part with an admin token (status subresource writes, Events).
//
// Binaries: `bash tools/install.sh --bin-dir` (or $GITOPS_TOOLS_BIN); `npm run tools:install` builds them.
// Start once per test file (describeWithEnvtest → beforeAll); stop() kills both processes and removes the temp
// dir, also when the test process exits or is killed (exit handlers + a watchdog process).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import YAML from 'yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const kargoCrdDir = path.resolve(repoRoot, '..', 'shared', 'vendor', 'kargo-crds');
export const PROJECT_NAMESPACE = 'gitops-infra';
export const BOT_NAMESPACE = 'chatops';
export const BOT_SERVICE_ACCOUNT = 'chatops-bot';

export interface EnvtestBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  missing: string[];
}

export interface Envtest {
  /** system:masters: plays Kargo's controller (status writes, Events) and seeds objects. */
  adminKubeConfig: KubeConfig;
  /** Authenticated as system:serviceaccount:chatops:chatops-bot — only deploy/rbac.yaml applies. */
  botKubeConfig: KubeConfig;
  botToken: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** PEM of the CA that signed the API server's self-signed serving certificate. */
  caPem: string;
  /**
   * The API server's own serving certificate (SAN 127.0.0.1) and key: lets a test stand-in (e.g. an admission
   * webhook on 127.0.0.1) serve TLS that the API server trusts with `caBundle: caPem`.
   */
  servingCert: { certPem: string; keyPem: string };
  /** http://127.0.0.1:<port> — etcd's client URL (its gRPC gateway serves /v3/kv/compaction). */
  etcdUrl: string;
  /** How long startup took, from spawning etcd to the bot's token (ms). */
  startupMs: number;
  /** A KubeConfig authenticating with the given bearer token. */
  kubeConfigForToken(token: string, user?: string): KubeConfig;
  /** TokenRequest for any ServiceAccount (1 h). */
  mintToken(serviceAccount: string, namespace: string): Promise<string>;
  /** Creates every object of a multi-document YAML file (or string) with the admin credentials. */
  apply(yamlFileOrText: string): Promise<void>;
  /**
   * Fault injection for the API server alone (etcd and every object stay): stop it (SIGTERM), start it
   * again on the same port with the same certificates and keys (tokens stay valid), or freeze it in place
   * (SIGSTOP: connections open, nothing answered) and thaw it.
   */
  apiServer: {
    stop(): Promise<void>;
    start(): Promise<void>;
    freeze(): void;
    thaw(): void;
  };
  stop(): Promise<void>;
}

// ---- binaries ------------------------------------------------------------------------------------------

export function findBinaries(): EnvtestBinaries {
  let dir = process.env.GITOPS_TOOLS_BIN ?? '';
  if (!dir) {
    try {
      dir = execFileSync('bash', [path.join(repoRoot, 'tools', 'install.sh'), '--bin-dir'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      dir = '';
    }
  }
  const etcd = path.join(dir, 'etcd');
  const kubeApiserver = path.join(dir, 'kube-apiserver');
  const missing = [etcd, kubeApiserver].filter((file) => !isExecutable(file)).map((f) => path.basename(f));
  return { dir, etcd, kubeApiserver, missing };
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * `describe` that starts one envtest for the whole block. Without the binaries: fails loudly on CI, and
 * elsewhere skips the block with one line on stderr saying why and how to get them.
 */
export function describeWithEnvtest(
  name: string,
  fn: (env: () => Envtest) => void,
  startupTimeoutMs = 180_000,
): void {
  const binaries = findBinaries();
  if (binaries.missing.length > 0) {
    const why =
      `kube-apiserver/etcd missing (${binaries.missing.join(', ')} not in ${binaries.dir || '<no bin dir>'}): ` +
      'run npm run tools:install (builds them from the Go module proxy) or set GITOPS_TOOLS_BIN';
    if (process.env.CI) {
      describe(name, () => {
        it('needs a real kube-apiserver and etcd', () => {
          throw new Error(why);
        });
      });
      return;
    }
    process.stderr.write(`\n[envtest] SKIPPING "${name}": ${why}\n`);
    describe.skip(name, () =>
      fn(() => {
        throw new Error('envtest not started');
      }),
    );
    return;
  }
  describe(name, () => {
    let env: Envtest | undefined;
    beforeAll(async () => {
      env = await startEnvtest({ binaries });
    }, startupTimeoutMs);
    afterAll(async () => {
      await env?.stop();
    }, 60_000);
    fn(() => {
      if (!env) throw new Error('envtest did not start (see the beforeAll error)');
      return env;
    });
  });
}

// ---- process bookkeeping -------------------------------------------------------------------------------

interface Running {
  children: ChildProcess[];
  tmpDir: string;
  watchdog?: ChildProcess;
}
const running = new Set<Running>();
let exitHandlersInstalled = false;

function killNowSync(r: Running): void {
  for (const child of r.children) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  if (r.watchdog?.pid) {
    try {
      process.kill(r.watchdog.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  fs.rmSync(r.tmpDir, { recursive: true, force: true });
}

function installExitHandlers(): void {
  if (exitHandlersInstalled) return;
  exitHandlersInstalled = true;
  process.on('exit', () => {
    for (const r of running) killNowSync(r);
    running.clear();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const r of running) killNowSync(r);
      running.clear();
      process.kill(process.pid, signal);
    });
  }
}

/** A detached shell that kills the servers and removes the temp dir if this process dies without cleanup. */
function startWatchdog(r: Running): void {
  const pids = r.children.map((c) => c.pid).filter((p): p is number => typeof p === 'number');
  const script =
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` +
    `kill -9 ${pids.join(' ')} 2>/dev/null; rm -rf '${r.tmpDir.replace(/'/g, '')}'`;
  const watchdog = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.unref();
  r.watchdog = watchdog;
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// ---- startup -------------------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '<no log>';
  }
}

/** GET url → status code (0 on connection errors). TLS verification is off: this only polls readiness. */
function probe(url: string, token?: string): Promise<number> {
  return new Promise((resolve) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(
      url,
      {
        rejectUnauthorized: false,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  child: ChildProcess,
  logFile: string,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 1.5, 500)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${what} exited (${child.exitCode ?? child.signalCode}) during startup:\n${tail(logFile)}`,
      );
    }
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms:\n${tail(logFile)}`);
    await sleep(delay);
  }
}

export interface StartOptions {
  binaries?: EnvtestBinaries;
  /** Apply deploy/serviceaccount.yaml + deploy/rbac.yaml and mint the bot's token (default true). */
  installBot?: boolean;
}

export async function startEnvtest(options: StartOptions = {}): Promise<Envtest> {
  // A freshly probed port can be taken by someone else before etcd binds it: retry once with new ports.
  try {
    return await startOnce(options);
  } catch (err) {
    if (!/address already in use|bind:/i.test(String(err))) throw err;
    return startOnce(options);
  }
}

async function startOnce(options: StartOptions): Promise<Envtest> {
  const started = Date.now();
  const binaries = options.binaries ?? findBinaries();
  if (binaries.missing.length > 0) throw new Error(`missing binaries: ${binaries.missing.join(', ')}`);
  installExitHandlers();

  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'envtest-'));
  const r: Running = { children: [], tmpDir };
  running.add(r);
  try {
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;

    // --- etcd ---
    const etcdLog = path.join(tmpDir, 'etcd.log');
    const etcd = spawn(
      binaries.etcd,
      [
        '--name=envtest',
        `--data-dir=${path.join(tmpDir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=envtest=${peerUrl}`,
        '--unsafe-no-fsync', // throwaway data: skip fsync, much faster on slow disks
        '--log-level=warn',
      ],
      { stdio: ['ignore', fs.openSync(etcdLog, 'a'), fs.openSync(etcdLog, 'a')] },
    );
    r.children.push(etcd);
    await waitFor('etcd', async () => (await probe(`${etcdUrl}/health`)) === 200, etcd, etcdLog);

    // --- credentials for kube-apiserver ---
    const adminToken = randomBytes(24).toString('hex');
    const tokensCsv = path.join(tmpDir, 'tokens.csv');
    fs.writeFileSync(tokensCsv, `${adminToken},envtest-admin,envtest-admin,"system:masters"\n`, {
      mode: 0o600,
    });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = path.join(tmpDir, 'sa.key');
    const saPub = path.join(tmpDir, 'sa.pub');
    fs.writeFileSync(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    fs.writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    const certDir = path.join(tmpDir, 'certs');
    fs.mkdirSync(certDir);

    // --- kube-apiserver ---
    const apiLog = path.join(tmpDir, 'kube-apiserver.log');
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${certDir}`, // no --tls-cert-file: it generates a self-signed CA + serving cert here
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      `--token-auth-file=${tokensCsv}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      // No kubelet/controllers here: nothing to reconcile the kubernetes Service endpoints, no pods to admit.
      '--endpoint-reconciler-type=none',
      '--disable-admission-plugins=ServiceAccount',
      '--enable-priority-and-fairness=false',
      // Events bypass the watch cache, so their watches are served by etcd directly: a test can then provoke
      // a real "too old resource version" (410) by compacting etcd. Everything else keeps the cache (as in
      // production), where an expired resourceVersion is reported by the cache itself.
      '--watch-cache-sizes=events#0',
      '--v=0',
    ];
    const server = `https://127.0.0.1:${apiPort}`;
    let apiserver: ChildProcess;
    let frozen = false;
    const launchApiServer = async (): Promise<void> => {
      apiserver = spawn(binaries.kubeApiserver, apiserverArgs, {
        stdio: ['ignore', fs.openSync(apiLog, 'a'), fs.openSync(apiLog, 'a')],
      });
      r.children.push(apiserver);
      const child = apiserver;
      await waitFor(
        'kube-apiserver',
        async () => (await probe(`${server}/readyz`, adminToken)) === 200,
        child,
        apiLog,
      );
    };
    const spawned = launchApiServer();
    startWatchdog(r);
    await spawned;

    // The generated apiserver.crt holds the serving certificate followed by its self-signed CA
    // (SANs include 127.0.0.1 = --advertise-address), so clients verify TLS against it.
    const caPem = fs.readFileSync(path.join(certDir, 'apiserver.crt'), 'utf8');
    const servingCert = {
      certPem: caPem,
      keyPem: fs.readFileSync(path.join(certDir, 'apiserver.key'), 'utf8'),
    };
    const kubeConfigForToken = (token: string, user = 'user'): KubeConfig => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [
          { name: 'envtest', server, caData: Buffer.from(caPem).toString('base64'), skipTLSVerify: false },
        ],
        users: [{ name: user, token }],
        contexts: [{ name: user, cluster: 'envtest', user }],
        currentContext: user,
      });
      return kc;
    };
    const adminKubeConfig = kubeConfigForToken(adminToken, 'envtest-admin');
    const objects = KubernetesObjectApi.makeApiClient(adminKubeConfig);
    const custom = adminKubeConfig.makeApiClient(CustomObjectsApi);
    const core = adminKubeConfig.makeApiClient(CoreV1Api);

    const apply = async (yamlFileOrText: string): Promise<void> => {
      const text = yamlFileOrText.includes('\n') ? yamlFileOrText : fs.readFileSync(yamlFileOrText, 'utf8');
      for (const doc of YAML.parseAllDocuments(text)) {
        const obj = doc.toJS() as KubernetesObject | null;
        if (obj?.kind) await objects.create(obj);
      }
    };

    await installCrds(custom);

    // The Kargo project namespace (Kargo labels the namespaces of its Projects like this).
    await objects.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: PROJECT_NAMESPACE, labels: { 'kargo.akuity.io/project': 'true' } },
    } as KubernetesObject);

    const mintToken = async (serviceAccount: string, namespace: string): Promise<string> => {
      const response = await core.createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace,
        body: { spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 3600 } },
      });
      const token = response.status?.token;
      if (!token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
      return token;
    };

    let botToken = '';
    if (options.installBot !== false) {
      await apply(path.join(repoRoot, 'deploy', 'serviceaccount.yaml'));
      await apply(path.join(repoRoot, 'deploy', 'rbac.yaml'));
      botToken = await mintToken(BOT_SERVICE_ACCOUNT, BOT_NAMESPACE);
    }

    let stopped = false;
    return {
      adminKubeConfig,
      botKubeConfig: kubeConfigForToken(
        botToken,
        `system:serviceaccount:${BOT_NAMESPACE}:${BOT_SERVICE_ACCOUNT}`,
      ),
      botToken,
      server,
      caPem,
      servingCert,
      etcdUrl,
      startupMs: Date.now() - started,
      kubeConfigForToken,
      mintToken,
      apply,
      apiServer: {
        stop: async () => {
          if (frozen) apiserver.kill('SIGCONT');
          frozen = false;
          await stopChild(apiserver);
        },
        start: async () => {
          r.children = r.children.filter((c) => c !== apiserver);
          await launchApiServer();
          // The watchdog kills what it was told at its start: tell a new one about the new process.
          if (r.watchdog?.pid) {
            try {
              process.kill(r.watchdog.pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
          startWatchdog(r);
        },
        freeze: () => {
          frozen = true;
          apiserver.kill('SIGSTOP');
        },
        thaw: () => {
          frozen = false;
          apiserver.kill('SIGCONT');
        },
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        if (frozen) apiserver.kill('SIGCONT');
        await stopChild(apiserver);
        await stopChild(etcd);
        if (r.watchdog?.pid) {
          try {
            process.kill(r.watchdog.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        fs.rmSync(tmpDir, { recursive: true, force: true });
        running.delete(r);
      },
    };
  } catch (err) {
    killNowSync(r);
    running.delete(r);
    throw err;
  }
}

interface Crd {
  metadata: { name: string };
  spec: { group: string; names: { plural: string }; scope: string; versions: Array<{ name: string }> };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/**
 * Creates every vendored Kargo CRD and waits until each is Established and actually served. Raw JSON through
 * CustomObjectsApi on purpose: client-node's typed serializer would drop `x-kubernetes-*` keys (CEL rules,
 * preserve-unknown-fields) from a plain YAML object, and those rules are part of what the tests rely on.
 */
async function installCrds(custom: CustomObjectsApi): Promise<void> {
  const files = fs
    .readdirSync(kargoCrdDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  if (files.length === 0) throw new Error(`no CRDs in ${kargoCrdDir}`);
  const crds = files.map((f) => YAML.parse(fs.readFileSync(path.join(kargoCrdDir, f), 'utf8')) as Crd);
  const crdApi = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };
  await Promise.all(crds.map((body) => custom.createClusterCustomObject({ ...crdApi, body })));
  const deadline = Date.now() + 60_000;
  for (const crd of crds) {
    for (;;) {
      const current = (await custom.getClusterCustomObject({ ...crdApi, name: crd.metadata.name })) as Crd;
      const established = current.status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      );
      if (established) {
        // Established is set slightly before discovery/handlers serve the resource: list once to be sure.
        const version = crd.spec.versions[0]!.name;
        const served = await (
          crd.spec.scope === 'Namespaced'
            ? custom.listNamespacedCustomObject({
                group: crd.spec.group,
                version,
                namespace: 'default',
                plural: crd.spec.names.plural,
              })
            : custom.listClusterCustomObject({
                group: crd.spec.group,
                version,
                plural: crd.spec.names.plural,
              })
        ).then(
          () => true,
          () => false,
        );
        if (served) break;
      }
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} not established`);
      await sleep(50);
    }
  }
}
