// A real Kubernetes API for the benchmark: etcd + kube-apiserver as local processes on loopback ports, with
// Kargo's CRDs (../shared/vendor/kargo-crds, v1.11.2), the project namespace, and the bot's own
// deploy/serviceaccount.yaml + deploy/rbac.yaml; the bot talks to it as its ServiceAccount. The same
// start-up as test/support/envtest.ts, copied here because that file is jest-bound (it imports
// @jest/globals, which refuses to load outside Jest). No Kargo controller: the benchmark measures what the
// bot does, and Promotions it creates simply stay pending.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import YAML from 'yaml';
import { freePort, repoRoot, sleep } from './util.js';

export const kargoCrdDir = path.resolve(repoRoot, '..', 'shared', 'vendor', 'kargo-crds');
export const PROJECT_NAMESPACE = 'gitops-infra';
const BOT_NAMESPACE = 'chatops';
const BOT_SERVICE_ACCOUNT = 'chatops-bot';

export interface BenchKube {
  server: string;
  caPem: string;
  adminKubeConfig: KubeConfig;
  botToken: string;
  /** A kubeconfig file (YAML text) for the bot's ServiceAccount. */
  botKubeconfigYaml(): string;
  apply(yamlFile: string): Promise<void>;
  startupMs: number;
  stop(): Promise<void>;
}

export function findKubeBinaries(): { etcd: string; kubeApiserver: string; missing: string[] } {
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
  const missing = [etcd, kubeApiserver].filter((f) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  return { etcd, kubeApiserver, missing: missing.map((f) => path.basename(f)) };
}

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

async function waitFor(what: string, check: () => Promise<boolean>, child: ChildProcess, logFile: string) {
  const deadline = Date.now() + 90_000;
  for (let delay = 50; ; delay = Math.min(delay * 1.5, 500)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited during start-up:\n${tailOf(logFile)}`);
    }
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after 90 s:\n${tailOf(logFile)}`);
    await sleep(delay);
  }
}

const tailOf = (file: string): string => {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
  } catch {
    return '<no log>';
  }
};

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function startBenchKube(): Promise<BenchKube> {
  const started = Date.now();
  const bin = findKubeBinaries();
  if (bin.missing.length > 0) {
    throw new Error(
      `kube-apiserver/etcd missing (${bin.missing.join(', ')}): run npm run tools:install or set GITOPS_TOOLS_BIN`,
    );
  }
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-kube-'));
  const children: ChildProcess[] = [];
  // If the benchmark dies without cleaning up, a detached shell kills the servers and removes the data.
  let watchdog: ChildProcess | undefined;
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (watchdog?.pid) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    fs.rmSync(tmpDir, { recursive: true, force: true });
  };
  process.once('exit', killAll);
  try {
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcdLog = path.join(tmpDir, 'etcd.log');
    const etcd = spawn(
      bin.etcd,
      [
        '--name=bench',
        `--data-dir=${path.join(tmpDir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=bench=${peerUrl}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      { stdio: ['ignore', fs.openSync(etcdLog, 'a'), fs.openSync(etcdLog, 'a')] },
    );
    children.push(etcd);
    await waitFor('etcd', async () => (await probe(`${etcdUrl}/health`)) === 200, etcd, etcdLog);

    const adminToken = randomBytes(24).toString('hex');
    const tokensCsv = path.join(tmpDir, 'tokens.csv');
    fs.writeFileSync(tokensCsv, `${adminToken},bench-admin,bench-admin,"system:masters"\n`, { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = path.join(tmpDir, 'sa.key');
    const saPub = path.join(tmpDir, 'sa.pub');
    fs.writeFileSync(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    fs.writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    const certDir = path.join(tmpDir, 'certs');
    fs.mkdirSync(certDir);
    const apiLog = path.join(tmpDir, 'kube-apiserver.log');
    const apiserver = spawn(
      bin.kubeApiserver,
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
    children.push(apiserver);
    const pids = children.map((c) => c.pid).filter((p): p is number => typeof p === 'number');
    watchdog = spawn(
      '/bin/sh',
      [
        '-c',
        `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${pids.join(' ')} 2>/dev/null; rm -rf '${tmpDir.replace(/'/g, '')}'`,
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
    );
    const caPem = fs.readFileSync(path.join(certDir, 'apiserver.crt'), 'utf8');
    const forToken = (token: string, user: string): KubeConfig => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [
          { name: 'bench', server, caData: Buffer.from(caPem).toString('base64'), skipTLSVerify: false },
        ],
        users: [{ name: user, token }],
        contexts: [{ name: user, cluster: 'bench', user }],
        currentContext: user,
      });
      return kc;
    };
    const adminKubeConfig = forToken(adminToken, 'bench-admin');
    const objects = KubernetesObjectApi.makeApiClient(adminKubeConfig);
    const custom = adminKubeConfig.makeApiClient(CustomObjectsApi);
    const core = adminKubeConfig.makeApiClient(CoreV1Api);
    const apply = async (file: string): Promise<void> => {
      for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
        const obj = doc.toJS() as KubernetesObject | null;
        if (obj?.kind) await objects.create(obj);
      }
    };
    await installCrds(custom);
    await objects.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: PROJECT_NAMESPACE, labels: { 'kargo.akuity.io/project': 'true' } },
    } as KubernetesObject);
    await apply(path.join(repoRoot, 'deploy', 'serviceaccount.yaml'));
    await apply(path.join(repoRoot, 'deploy', 'rbac.yaml'));
    const tokenResponse = await core.createNamespacedServiceAccountToken({
      name: BOT_SERVICE_ACCOUNT,
      namespace: BOT_NAMESPACE,
      body: { spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 3600 } },
    });
    const botToken = tokenResponse.status?.token ?? '';
    if (!botToken) throw new Error('TokenRequest for the bot returned no token');
    return {
      server,
      caPem,
      adminKubeConfig,
      botToken,
      startupMs: Date.now() - started,
      apply,
      botKubeconfigYaml: () =>
        YAML.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            {
              name: 'bench',
              cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
            },
          ],
          users: [{ name: 'bot', user: { token: botToken } }],
          contexts: [{ name: 'bot', context: { cluster: 'bench', user: 'bot' } }],
          'current-context': 'bot',
        }),
      stop: async () => {
        await stopChild(apiserver);
        await stopChild(etcd);
        killAll();
        process.removeListener('exit', killAll);
      },
    };
  } catch (err) {
    killAll();
    process.removeListener('exit', killAll);
    throw err;
  }
}

interface Crd {
  metadata: { name: string };
  spec: { group: string; names: { plural: string }; scope: string; versions: Array<{ name: string }> };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** Raw JSON through CustomObjectsApi, so x-kubernetes-* keys (CEL rules) survive; waits until served. */
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
      if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) {
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

// ---- Kargo objects ----------------------------------------------------------------------------------------

export const kargoApi = (plural: string) => ({
  group: 'kargo.akuity.io',
  version: 'v1alpha1',
  namespace: PROJECT_NAMESPACE,
  plural,
});

/** A Freight of this repository's Warehouse, as Kargo's controller creates it on discovery. */
export function freightObject(name: string, alias: string, discoveredAt: string, commitId: string) {
  return {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Freight',
    metadata: { name, namespace: PROJECT_NAMESPACE, labels: { 'kargo.akuity.io/alias': alias } },
    alias,
    origin: { kind: 'Warehouse', name: 'gitops-infra' },
    discoveredAt,
    commits: [
      {
        repoURL: 'https://github.com/acme/gitops-infra-pipeline.git',
        id: commitId,
        branch: 'main',
        message: `bench change ${alias}`,
        author: 'Bench Bot <bench@example.com>',
      },
    ],
  };
}

const seeded = new WeakSet<BenchKube>();

/** This repository's own Warehouse and Stages (kargo/), once per API server. */
export async function ensureKargoProject(kube: BenchKube): Promise<void> {
  if (seeded.has(kube)) return;
  await kube.apply(path.join(repoRoot, 'kargo', 'warehouse.yaml'));
  await kube.apply(path.join(repoRoot, 'kargo', 'stages.yaml'));
  seeded.add(kube);
}

/**
 * Creates `count` Freight (names from `seed`), `concurrency` at a time, over one keep-alive HTTPS agent (the
 * generated client opens a connection per request, which made creating 10,000 take minutes); returns their
 * aliases, oldest first.
 */
export async function createFreight(
  kube: BenchKube,
  o: { seed: string; from: number; count: number; concurrency: number; discoveredFrom: number },
): Promise<{ aliases: string[]; ms: number }> {
  const { createHash } = await import('node:crypto');
  const sha = (s: string): string => createHash('sha1').update(s).digest('hex');
  const token = kube.adminKubeConfig.getCurrentUser()?.token ?? '';
  const url = new URL(
    `${kube.server}/apis/kargo.akuity.io/v1alpha1/namespaces/${PROJECT_NAMESPACE}/freights`,
  );
  const agent = new https.Agent({ keepAlive: true, maxSockets: o.concurrency, ca: kube.caPem });
  const post = (body: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () =>
            (res.statusCode ?? 0) < 300
              ? resolve()
              : reject(new Error(`create Freight: HTTP ${res.statusCode}: ${text}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const indexes = Array.from({ length: o.count }, (_, i) => o.from + i);
  const aliases = indexes.map((i) => `${o.seed}-${i}`);
  const started = Date.now();
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (next < indexes.length) {
          const i = indexes[next++]!;
          // Newer index, newer discovery: the highest index is the newest Freight.
          const discoveredAt = new Date(o.discoveredFrom + i * 1000).toISOString();
          const body = freightObject(
            sha(`${o.seed}/freight/${i}`),
            `${o.seed}-${i}`,
            discoveredAt,
            sha(`${o.seed}/commit/${i}`),
          );
          await post(JSON.stringify(body));
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return { aliases, ms: Date.now() - started };
}

/** Deletes every object of a Kargo kind in the project namespace (one DELETE collection). */
export async function deleteAllOf(kube: BenchKube, plural: string): Promise<void> {
  const custom = kube.adminKubeConfig.makeApiClient(CustomObjectsApi);
  await custom.deleteCollectionNamespacedCustomObject({ ...kargoApi(plural) });
}

export async function countOf(kube: BenchKube, plural: string): Promise<number> {
  const custom = kube.adminKubeConfig.makeApiClient(CustomObjectsApi);
  const list = (await custom.listNamespacedCustomObject({ ...kargoApi(plural) })) as { items: unknown[] };
  return list.items.length;
}
