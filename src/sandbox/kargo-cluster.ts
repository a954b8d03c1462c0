// A local Kubernetes API for the sandbox's real Kargo: etcd and kube-apiserver (the binaries tools/install.sh
// builds) as loopback processes, with the vendored Kargo CRDs installed. The same recipe as the tests'
// envtest (test/support/envtest.ts, which cannot be imported outside jest): no kubelet, no controllers,
// RBAC authorization, a static admin token, ServiceAccount tokens from TokenRequest, and a self-signed
// serving certificate whose chain (CA included) clients and Kargo's webhooks trust.
//
// The processes die with the Node process that started them (exit handler, and a watchdog shell for a
// SIGKILL), and their data lives in a temporary directory removed on stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import { freePort } from './kargo-controlplane.js';

export interface LocalClusterOptions {
  /** Directory holding `etcd` and `kube-apiserver`. */
  binDir: string;
  /** Directory of the Kargo CRDs to install (../shared/vendor/kargo-crds). */
  crdDir: string;
  /** How long to wait for each server. Default 90 s. */
  readyTimeoutMs?: number;
}

export interface LocalCluster {
  /** https://127.0.0.1:<port> */
  server: string;
  /** The API server's certificate chain (serving certificate + its CA): what clients trust. */
  caPem: string;
  /** The API server's serving certificate (SAN 127.0.0.1) and key, reused for Kargo's webhooks server. */
  servingCert: { certPem: string; keyPem: string };
  /** system:masters. */
  adminKubeConfig: KubeConfig;
  kubeConfigForToken(token: string, user: string, namespace?: string): KubeConfig;
  /** A kubeconfig file's YAML for a bearer token. */
  kubeconfigYaml(token: string, user: string, namespace?: string): string;
  /** TokenRequest for a ServiceAccount. */
  mintToken(serviceAccount: string, namespace: string, seconds?: number): Promise<string>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const live = new Set<{ children: ChildProcess[]; dir: string }>();
let exitHandlerInstalled = false;

function killSync(entry: { children: ChildProcess[]; dir: string }): void {
  for (const c of entry.children) {
    if (c.exitCode === null && c.signalCode === null && c.pid) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  fs.rmSync(entry.dir, { recursive: true, force: true });
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '<no log>';
  }
}

function probe(url: string, token?: string): Promise<number> {
  return new Promise((resolve) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(
      url,
      {
        rejectUnauthorized: false, // readiness only; real clients verify against caPem
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
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 1.5, 500)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${tail(logFile)}`);
    }
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms:\n${tail(logFile)}`);
    await sleep(delay);
  }
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const timeoutMs = options.readyTimeoutMs ?? 90_000;
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true;
    process.on('exit', () => {
      for (const entry of live) killSync(entry);
    });
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kargo-cluster-'));
  const entry = { children: [] as ChildProcess[], dir };
  live.add(entry);
  try {
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcdLog = path.join(dir, 'etcd.log');
    const etcd = spawn(
      path.join(options.binDir, 'etcd'),
      [
        '--name=sandbox',
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=sandbox=${peerUrl}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      { stdio: ['ignore', fs.openSync(etcdLog, 'a'), fs.openSync(etcdLog, 'a')] },
    );
    entry.children.push(etcd);
    await waitFor('etcd', async () => (await probe(`${etcdUrl}/health`)) === 200, etcd, etcdLog, timeoutMs);

    const adminToken = randomBytes(24).toString('hex');
    const tokensCsv = path.join(dir, 'tokens.csv');
    fs.writeFileSync(tokensCsv, `${adminToken},sandbox-admin,sandbox-admin,"system:masters"\n`, {
      mode: 0o600,
    });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = path.join(dir, 'sa.key');
    const saPub = path.join(dir, 'sa.pub');
    fs.writeFileSync(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    fs.writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    const certDir = path.join(dir, 'certs');
    fs.mkdirSync(certDir);
    const apiLog = path.join(dir, 'kube-apiserver.log');
    const apiserver = spawn(
      path.join(options.binDir, 'kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${certDir}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        `--token-auth-file=${tokensCsv}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--endpoint-reconciler-type=none',
        '--disable-admission-plugins=ServiceAccount',
        '--enable-priority-and-fairness=false',
        '--v=0',
      ],
      { stdio: ['ignore', fs.openSync(apiLog, 'a'), fs.openSync(apiLog, 'a')] },
    );
    entry.children.push(apiserver);
    // A detached shell that ends both servers if this process dies without running its exit handler.
    const pids = entry.children.map((c) => c.pid).filter((p): p is number => typeof p === 'number');
    const watchdog = spawn(
      '/bin/sh',
      [
        '-c',
        `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${pids.join(' ')} 2>/dev/null; rm -rf '${dir.replace(/'/g, '')}'`,
      ],
      { detached: true, stdio: 'ignore' },
    );
    watchdog.unref();
    const server = `https://127.0.0.1:${apiPort}`;
    await waitFor(
      'kube-apiserver',
      async () => (await probe(`${server}/readyz`, adminToken)) === 200,
      apiserver,
      apiLog,
      timeoutMs,
    );

    const caPem = fs.readFileSync(path.join(certDir, 'apiserver.crt'), 'utf8');
    const servingCert = {
      certPem: caPem,
      keyPem: fs.readFileSync(path.join(certDir, 'apiserver.key'), 'utf8'),
    };
    const kubeconfigObject = (token: string, user: string, namespace?: string) => ({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'sandbox',
          cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
        },
      ],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: user, context: { cluster: 'sandbox', user, ...(namespace ? { namespace } : {}) } }],
      'current-context': user,
    });
    const kubeConfigForToken = (token: string, user: string, namespace?: string): KubeConfig => {
      const kc = new KubeConfig();
      kc.loadFromString(YAML.stringify(kubeconfigObject(token, user, namespace)));
      return kc;
    };
    const adminKubeConfig = kubeConfigForToken(adminToken, 'sandbox-admin');
    await installCrds(adminKubeConfig.makeApiClient(CustomObjectsApi), options.crdDir, timeoutMs);
    const core = adminKubeConfig.makeApiClient(CoreV1Api);

    let stopped = false;
    return {
      server,
      caPem,
      servingCert,
      adminKubeConfig,
      kubeConfigForToken,
      kubeconfigYaml: (token, user, namespace) => YAML.stringify(kubeconfigObject(token, user, namespace)),
      mintToken: async (serviceAccount, namespace, seconds = 7 * 24 * 3600) => {
        const response = await core.createNamespacedServiceAccountToken({
          name: serviceAccount,
          namespace,
          body: { spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: seconds } },
        });
        const token = response.status?.token;
        if (!token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
        return token;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopChild(apiserver);
        await stopChild(etcd);
        try {
          if (watchdog.pid) process.kill(watchdog.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        live.delete(entry);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    killSync(entry);
    live.delete(entry);
    throw err;
  }
}

/** Creates every CRD of `crdDir` (raw JSON: keeps the x-kubernetes-* rules) and waits until each is served. */
async function installCrds(custom: CustomObjectsApi, crdDir: string, timeoutMs: number): Promise<void> {
  interface Crd {
    metadata: { name: string };
    spec: { group: string; names: { plural: string }; scope: string; versions: Array<{ name: string }> };
    status?: { conditions?: Array<{ type: string; status: string }> };
  }
  const crds = fs
    .readdirSync(crdDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => YAML.parse(fs.readFileSync(path.join(crdDir, f), 'utf8')) as Crd);
  if (crds.length === 0) throw new Error(`no CRDs in ${crdDir}`);
  const crdApi = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };
  await Promise.all(crds.map((body) => custom.createClusterCustomObject({ ...crdApi, body })));
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    for (;;) {
      const current = (await custom.getClusterCustomObject({ ...crdApi, name: crd.metadata.name })) as Crd;
      if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) {
        const version = crd.spec.versions[0]!.name;
        const list =
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
              });
        if (
          await list.then(
            () => true,
            () => false,
          )
        )
          break;
      }
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} not established`);
      await sleep(50);
    }
  }
}
