// The real Kargo v1.11.2 control plane on a local kube-apiserver: the `kargo-controlplane` binary built by
// tools/install.sh, run as three processes the way Kargo's Helm chart runs them in a cluster:
//
//   kubernetes-webhooks-server  Kargo's admission webhooks (renames Promotions, fills in their steps, sets the
//                               Stage owner reference, checks the `promote` verb, freight availability...).
//                               TLS on 127.0.0.1 with the API server's own serving certificate; the chart's
//                               Mutating/ValidatingWebhookConfigurations, pointed at it with caBundle = that CA.
//   management-controller       Projects (namespace adoption, project roles), ProjectConfigs, ClusterConfigs.
//   controller                  Warehouses (freight discovery), Stages (auto-promotion, freight history),
//                               Promotions (the steps: the http steps call the GitHub stand-in).
//
// Each runs as its chart ServiceAccount in namespace `kargo` (so the webhooks recognise the control plane by
// user name, CONTROLPLANE_USER_REGEX, as in a cluster) with a TokenRequest token. The webhooks server gets
// the chart's own ClusterRole; the two controllers are bound to cluster-admin, because their chart
// ClusterRoles are not among the files tools/install.sh keeps (kubernetes-webhooks-server/ and the
// ClusterConfig CRD).
//
// Network: nothing may leave loopback. Every process gets GCE_METADATA_HOST=127.0.0.1:<closed port> (Google's
// metadata probe at start stays on loopback) and HTTP(S)_PROXY=http://127.0.0.1:<closed port> with
// NO_PROXY=loopback, so any HTTP request to a non-loopback host (an http step with a wrong URL, a registry,
// a metadata service) ends at a closed loopback port instead of leaving the machine. A NetworkGuard samples
// the sockets of the three processes and their children (git) and records any non-loopback peer.
//
// Used by the real-controller integration suite (test/support/kargo-controlplane.ts) and by the sandbox.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import YAML from 'yaml';
import { findGitHttpBackend } from './kargo-git-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(here, '..', '..');

/** Namespace of the control plane's ServiceAccounts and heartbeat Leases (the chart's release namespace). */
export const KARGO_NAMESPACE = 'kargo';
export const KARGO_VERSION = 'v1.11.2';

/** The chart's ServiceAccount names. */
export const KARGO_SERVICE_ACCOUNTS = {
  controller: 'kargo-controller',
  managementController: 'kargo-management-controller',
  webhooksServer: 'kargo-webhooks-server',
} as const;

export type KargoComponent = 'kubernetes-webhooks-server' | 'management-controller' | 'controller';

// ── tools ────────────────────────────────────────────────────────────────────────────────────────

export interface KargoTools {
  /** Where tools/install.sh puts binaries (or $GITOPS_TOOLS_BIN). */
  binDir: string;
  /** kargo-controlplane */
  binary: string;
  /** <cache>/kargo-crds: the ClusterConfig CRD and the chart's kubernetes-webhooks-server/ templates. */
  chartDir: string;
  gitHttpBackend: string | undefined;
  /** What is missing, each with how to get it; empty when everything is there. */
  missing: string[];
}

/** The directory tools/install.sh builds into (`tools/install.sh --bin-dir`), or $GITOPS_TOOLS_BIN. */
export function toolsBinDir(): string {
  if (process.env.GITOPS_TOOLS_BIN) return process.env.GITOPS_TOOLS_BIN;
  try {
    return execFileSync('bash', [path.join(REPO_ROOT, 'tools', 'install.sh'), '--bin-dir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

const isExecutable = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};

export function findKargoTools(binDir = toolsBinDir()): KargoTools {
  const binary = path.join(binDir, 'kargo-controlplane');
  const chartDir = path.join(path.dirname(binDir), 'kargo-crds');
  const gitHttpBackend = findGitHttpBackend();
  const missing: string[] = [];
  if (!binDir || !isExecutable(binary)) {
    missing.push(`kargo-controlplane (not in ${binDir || '<no bin dir>'}: npm run tools:install builds it)`);
  }
  for (const file of [CLUSTERCONFIG_CRD, ...CHART_FILES]) {
    if (!fs.existsSync(path.join(chartDir, file))) {
      missing.push(`${file} (not in ${chartDir}: npm run tools:install copies it from Kargo's chart)`);
    }
  }
  if (!gitHttpBackend) missing.push('git http-backend (apt-get install git)');
  return { binDir, binary, chartDir, gitHttpBackend, missing };
}

// ── the chart's templates, rendered for this installation ─────────────────────────────────────────

const CLUSTERCONFIG_CRD = 'kargo.akuity.io_clusterconfigs.yaml';
const CHART_FILES = [
  'kubernetes-webhooks-server/webhooks.yaml',
  'kubernetes-webhooks-server/cluster-role.yaml',
  'kubernetes-webhooks-server/cluster-role-binding.yaml',
  'kubernetes-webhooks-server/configmap.yaml',
];

/**
 * The chart's guards that are true for this installation (webhooks registered, cluster roles installed).
 * Every other `if` is false, and `with`/`range` blocks (extra labels and annotations from values) are empty.
 */
const TRUE_GUARDS = new Set([
  'and .Values.dataPlane.install .Values.webhooks.register',
  'and .Values.dataPlane.install .Values.rbac.installClusterRoles .Values.webhooksServer.enabled',
  'and .Values.dataPlane.install .Values.rbac.installClusterRoleBindings .Values.webhooksServer.enabled',
]);

/**
 * Renders one of the chart's templates with the default values: the guards above, labels and annotations
 * (`include`) left out, `.Release.Namespace` = `namespace`. Throws on anything it does not understand, so a
 * change of chart fails loudly instead of registering something half-rendered.
 */
export function renderChartTemplate(text: string, namespace: string, file = 'template'): string {
  const out: string[] = [];
  const stack: Array<{ active: boolean; parent: boolean; taken: boolean }> = [];
  const active = (): boolean => stack.every((s) => s.active);
  for (const [index, line] of text.split('\n').entries()) {
    const directive = /^\s*\{\{-?\s*(if|with|range|else|end)\b(.*?)-?\}\}\s*$/.exec(line);
    if (directive) {
      const [, kind, rawArg] = directive;
      const arg = (rawArg ?? '').trim().replace(/\s+/g, ' ');
      if (kind === 'if') {
        const parent = active();
        const taken = TRUE_GUARDS.has(arg);
        stack.push({ active: taken, parent, taken });
      } else if (kind === 'with' || kind === 'range') {
        stack.push({ active: false, parent: active(), taken: true });
      } else if (kind === 'else') {
        const top = stack.at(-1);
        if (!top) throw new Error(`${file}:${index + 1}: else without if`);
        top.active = !top.taken;
        top.taken = true;
      } else {
        if (!stack.pop()) throw new Error(`${file}:${index + 1}: end without block`);
      }
      continue;
    }
    if (!active()) continue;
    if (/^\s*\{\{-?\s*include\b.*\}\}\s*$/.test(line)) continue;
    const rendered = line.replaceAll('{{ .Release.Namespace }}', namespace);
    if (rendered.includes('{{')) throw new Error(`${file}:${index + 1}: cannot render ${line.trim()}`);
    out.push(rendered);
  }
  if (stack.length > 0) throw new Error(`${file}: ${stack.length} unterminated block(s)`);
  return out.join('\n');
}

function renderedObjects(chartDir: string, file: string, namespace: string): KubernetesObject[] {
  const text = fs.readFileSync(path.join(chartDir, file), 'utf8');
  return YAML.parseAllDocuments(renderChartTemplate(text, namespace, file))
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => Boolean(o?.kind));
}

/** The keys of the chart's ConfigMap for the webhooks server (the env it expects), from configmap.yaml. */
export function chartEnvKeys(chartDir: string): string[] {
  const text = fs.readFileSync(path.join(chartDir, 'kubernetes-webhooks-server', 'configmap.yaml'), 'utf8');
  const data = text.split(/^data:\s*$/m)[1] ?? '';
  return [...data.matchAll(/^\s{2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
}

interface WebhookEntry {
  name: string;
  clientConfig: { service?: { path?: string }; url?: string; caBundle?: string };
}

/**
 * The chart's webhook configurations with every webhook's clientConfig pointed at `baseUrl` (same paths)
 * and trusting `caPem`.
 */
export function webhookConfigurations(chartDir: string, baseUrl: string, caPem: string): KubernetesObject[] {
  const caBundle = Buffer.from(caPem).toString('base64');
  return renderedObjects(chartDir, 'kubernetes-webhooks-server/webhooks.yaml', KARGO_NAMESPACE).map((obj) => {
    const config = obj as KubernetesObject & { webhooks: WebhookEntry[] };
    delete config.metadata?.annotations; // cert-manager's CA injection: the caBundle is set here instead
    for (const hook of config.webhooks) {
      const hookPath = hook.clientConfig.service?.path;
      if (!hookPath) throw new Error(`webhook ${hook.name} has no service path in the chart`);
      hook.clientConfig = { url: `${baseUrl}${hookPath}`, caBundle };
    }
    return config;
  });
}

/**
 * The chart's common ClusterRoles (charts/kargo/templates/common/cluster-roles.yaml at v1.11.2, default values:
 * api.secretManagementEnabled true), which tools/install.sh does not keep. The Project webhook binds
 * kargo-project-admin in every new project namespace, and the API server refuses a binding to a ClusterRole
 * that does not exist (RBAC escalation check), so the Project would be refused without it.
 */
const COMMON_CLUSTER_ROLES: KubernetesObject[] = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'kargo-project-admin' },
    rules: [
      { apiGroups: [''], resources: ['configmaps', 'secrets', 'serviceaccounts'], verbs: ['*'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings', 'roles'], verbs: ['*'] },
    ],
  } as KubernetesObject,
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'kargo-project-secrets-reader' },
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }],
  } as KubernetesObject,
];

// ── network guard ────────────────────────────────────────────────────────────────────────────────

export interface SocketRecord {
  pid: number;
  command: string;
  protocol: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  local: string;
  remote: string;
  state: string;
}

const TCP_LISTEN = '0A';

function hexToAddress(hex: string): { address: string; port: number } {
  const [host = '', port = '0'] = hex.split(':');
  let address: string;
  if (host.length === 8) {
    address = [3, 2, 1, 0].map((i) => Number.parseInt(host.slice(i * 2, i * 2 + 2), 16)).join('.');
  } else {
    // Four 32-bit words, each in host (little-endian) byte order.
    const bytes: number[] = [];
    for (let w = 0; w < 4; w += 1) {
      const word = host.slice(w * 8, w * 8 + 8);
      for (const i of [3, 2, 1, 0]) bytes.push(Number.parseInt(word.slice(i * 2, i * 2 + 2), 16));
    }
    const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
    if (mapped) address = bytes.slice(12).join('.');
    else {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
      address = groups.join(':');
      if (address === '0:0:0:0:0:0:0:0') address = '::';
      else if (address === '0:0:0:0:0:0:0:1') address = '::1';
    }
  }
  return { address, port: Number.parseInt(port, 16) };
}

const isLoopbackAddress = (a: string): boolean => /^127\./.test(a) || a === '::1';
const isUnspecified = (a: string): boolean => a === '0.0.0.0' || a === '::';

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // gone
  }
  return inodes;
}

/**
 * Samples the sockets of some processes (and their descendants) from /proc and records every peer that is
 * not loopback, and every listener that is not bound to loopback. Linux only; elsewhere it records nothing
 * and says so (`supported`).
 */
export class NetworkGuard {
  readonly supported = fs.existsSync('/proc/net/tcp');
  private readonly outbound = new Map<string, SocketRecord>();
  private readonly listening = new Map<string, SocketRecord>();
  private timer: NodeJS.Timeout | undefined;
  private samples = 0;

  constructor(private readonly roots: () => number[]) {}

  start(intervalMs = 250): void {
    if (!this.supported || this.timer) return;
    const tick = (): void => {
      this.sample();
      this.timer = setTimeout(tick, intervalMs);
      this.timer.unref();
    };
    tick();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Connections to anything but loopback (must stay empty). */
  violations(): SocketRecord[] {
    return [...this.outbound.values()];
  }

  /** Listening sockets not bound to loopback (Kargo's webhook server binds all interfaces). */
  openListeners(): SocketRecord[] {
    return [...this.listening.values()];
  }

  sampleCount(): number {
    return this.samples;
  }

  sample(): void {
    if (!this.supported) return;
    const pids = new Set<number>();
    const queue = [...this.roots()];
    while (queue.length > 0) {
      const pid = queue.pop()!;
      if (pids.has(pid)) continue;
      pids.add(pid);
      queue.push(...childrenOf(pid));
    }
    const owner = new Map<string, number>();
    for (const pid of pids) for (const inode of socketInodes(pid)) owner.set(inode, pid);
    if (owner.size === 0) {
      this.samples += 1;
      return;
    }
    for (const protocol of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
      let table: string;
      try {
        table = fs.readFileSync(`/proc/net/${protocol}`, 'utf8');
      } catch {
        continue;
      }
      for (const row of table.split('\n').slice(1)) {
        const cols = row.trim().split(/\s+/);
        if (cols.length < 10) continue;
        const [, localHex = '', remoteHex = '', state = ''] = cols;
        const inode = cols[9]!;
        const pid = owner.get(inode);
        if (pid === undefined) continue;
        const local = hexToAddress(localHex);
        const remote = hexToAddress(remoteHex);
        let command = '';
        try {
          command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
        } catch {
          // gone
        }
        const record: SocketRecord = {
          pid,
          command,
          protocol,
          local: `${local.address}:${local.port}`,
          remote: `${remote.address}:${remote.port}`,
          state,
        };
        if (!isUnspecified(remote.address) && !isLoopbackAddress(remote.address)) {
          this.outbound.set(`${protocol} ${record.local} ${record.remote}`, record);
        } else if (protocol.startsWith('tcp') && state === TCP_LISTEN && !isLoopbackAddress(local.address)) {
          this.listening.set(`${protocol} ${record.local}`, record);
        }
      }
    }
    this.samples += 1;
  }
}

// ── processes ────────────────────────────────────────────────────────────────────────────────────

export function freePort(): Promise<number> {
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

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '<no log>';
  }
}

interface RunningProcess {
  component: KargoComponent;
  child: ChildProcess;
  logFile: string;
}

const live = new Set<{ children: ChildProcess[]; dir: string; keepDir: boolean }>();
let exitHandlersInstalled = false;

function killAllSync(): void {
  for (const r of live) {
    for (const c of r.children) {
      if (c.exitCode === null && c.signalCode === null && c.pid) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    if (!r.keepDir) fs.rmSync(r.dir, { recursive: true, force: true });
  }
  live.clear();
}

function installExitHandlers(): void {
  if (exitHandlersInstalled) return;
  exitHandlersInstalled = true;
  process.on('exit', killAllSync);
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// ── start ────────────────────────────────────────────────────────────────────────────────────────

export interface KargoControlPlaneOptions {
  /** Admin credentials for the API server (installs CRDs, RBAC, webhook configurations; mints tokens). */
  adminKubeConfig: KubeConfig;
  /** https://127.0.0.1:<port> */
  server: string;
  /** CA the API server's certificate chains to (for the components' kubeconfigs and the webhooks' caBundle). */
  caPem: string;
  /** A certificate for 127.0.0.1 signed by `caPem` (envtest reuses the API server's own) for the webhooks server. */
  servingCert: { certPem: string; keyPem: string };
  tools?: KargoTools;
  /** LOG_LEVEL of the three processes. Default $KARGO_LOG_LEVEL or `info`. */
  logLevel?: string;
  /** Lifetime of the components' tokens. Default 24 h. */
  tokenSeconds?: number;
  /** Keep the work directory (logs) after stop(). Default: only when $KARGO_KEEP_LOGS is set. */
  keepLogs?: boolean;
  /** How long to wait for each component. Default 120 s. */
  readyTimeoutMs?: number;
}

export interface KargoControlPlane {
  /** Work directory: kubeconfigs, logs (<component>.log), TMPDIR and HOME of the processes. */
  dir: string;
  /** https://127.0.0.1:<port> of the webhooks server. */
  webhooksUrl: string;
  /** Every process's pid, by component. */
  pids(): Record<KargoComponent, number | undefined>;
  /** The last lines of a component's log. */
  logTail(component: KargoComponent, lines?: number): string;
  /** The component's whole log. */
  log(component: KargoComponent): string;
  /** Components that exited while they should be running, with their log tails. */
  crashed(): string[];
  network: NetworkGuard;
  /** How long startup took (ms). */
  startupMs: number;
  stop(): Promise<void>;
}

const KARGO_GROUP = 'kargo.akuity.io';

/** Webhooks-server env, as the chart's configmap.yaml sets it (chartEnvKeys checks none is forgotten). */
function webhooksServerEnv(namespace: string): Record<string, string> {
  const sa = KARGO_SERVICE_ACCOUNTS;
  return {
    KARGO_NAMESPACE: namespace,
    CONTROLPLANE_USER_REGEX: `^system:serviceaccount:${namespace}:(kargo-api|${sa.controller}|kargo-garbage-collector|${sa.managementController})$`,
    MANAGEMENT_CONTROLLER_USERNAME: `system:serviceaccount:${namespace}:${sa.managementController}`,
    EXTERNAL_WEBHOOKS_SERVER_USERNAME: `system:serviceaccount:${namespace}:kargo-external-webhooks-server`,
    CACHE_BY_TAG_POLICY: 'Allow',
  };
}

/** Keys of the chart's webhooks-server ConfigMap that are set elsewhere (process env) or are optional. */
export const WEBHOOKS_ENV_HANDLED_ELSEWHERE = [
  'LOG_LEVEL',
  'LOG_FORMAT',
  'KUBECONFIG',
  'METRICS_BIND_ADDRESS',
];

export function webhooksServerEnvKeys(): string[] {
  return [...Object.keys(webhooksServerEnv(KARGO_NAMESPACE)), ...WEBHOOKS_ENV_HANDLED_ELSEWHERE];
}

export async function startKargoControlPlane(options: KargoControlPlaneOptions): Promise<KargoControlPlane> {
  const started = Date.now();
  const tools = options.tools ?? findKargoTools();
  if (tools.missing.length > 0) throw new Error(`Kargo control plane: missing ${tools.missing.join('; ')}`);
  installExitHandlers();
  const ns = KARGO_NAMESPACE;
  const admin = options.adminKubeConfig;
  const objects = KubernetesObjectApi.makeApiClient(admin);
  const custom = admin.makeApiClient(CustomObjectsApi);
  const core = admin.makeApiClient(CoreV1Api);
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const keepLogs = options.keepLogs ?? Boolean(process.env.KARGO_KEEP_LOGS);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kargo-controlplane-'));
  const entry = { children: [] as ChildProcess[], dir, keepDir: keepLogs };
  live.add(entry);
  const processes: RunningProcess[] = [];
  let guard: NetworkGuard | undefined;
  let watchdog: ChildProcess | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    guard?.sample();
    guard?.stop();
    // Controllers first, the webhooks server last (its webhooks fail closed while it is down).
    for (const p of [...processes].reverse()) await stopChild(p.child);
    if (watchdog?.pid) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    live.delete(entry);
    if (!keepLogs) fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    // ── CRD, namespace, identities ──
    const crd = YAML.parse(fs.readFileSync(path.join(tools.chartDir, CLUSTERCONFIG_CRD), 'utf8')) as {
      metadata: { name: string };
    };
    const crdApi = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };
    await custom.createClusterCustomObject({ ...crdApi, body: crd }).catch(ignoreExists);
    await waitUntil('the ClusterConfig CRD', readyTimeoutMs, async () => {
      const current = (await custom.getClusterCustomObject({ ...crdApi, name: crd.metadata.name })) as {
        status?: { conditions?: Array<{ type: string; status: string }> };
      };
      if (!current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'))
        return false;
      return custom
        .listClusterCustomObject({ group: KARGO_GROUP, version: 'v1alpha1', plural: 'clusterconfigs' })
        .then(
          () => true,
          () => false,
        );
    });
    await objects
      .create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } as KubernetesObject)
      .catch(ignoreExists);
    for (const name of Object.values(KARGO_SERVICE_ACCOUNTS)) {
      await objects
        .create({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/name': 'kargo' } },
        } as KubernetesObject)
        .catch(ignoreExists);
    }
    const rbac = [
      ...COMMON_CLUSTER_ROLES,
      ...renderedObjects(tools.chartDir, 'kubernetes-webhooks-server/cluster-role.yaml', ns),
      ...renderedObjects(tools.chartDir, 'kubernetes-webhooks-server/cluster-role-binding.yaml', ns),
      ...[KARGO_SERVICE_ACCOUNTS.controller, KARGO_SERVICE_ACCOUNTS.managementController].map(
        (name) =>
          ({
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRoleBinding',
            metadata: { name: `${name}-cluster-admin` },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
            subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
          }) as KubernetesObject,
      ),
    ];
    for (const obj of rbac) await objects.create(obj).catch(ignoreExists);

    const kubeconfigFor = async (serviceAccount: string): Promise<string> => {
      const response = await core.createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace: ns,
        body: {
          spec: {
            audiences: ['https://kubernetes.default.svc'],
            expirationSeconds: options.tokenSeconds ?? 24 * 3600,
          },
        },
      });
      const token = response.status?.token;
      if (!token) throw new Error(`TokenRequest for ${ns}/${serviceAccount} returned no token`);
      const file = path.join(dir, `${serviceAccount}.kubeconfig`);
      const user = `system:serviceaccount:${ns}:${serviceAccount}`;
      fs.writeFileSync(
        file,
        YAML.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            {
              name: 'local',
              cluster: {
                server: options.server,
                'certificate-authority-data': Buffer.from(options.caPem).toString('base64'),
              },
            },
          ],
          users: [{ name: user, user: { token } }],
          contexts: [{ name: 'kargo', context: { cluster: 'local', user, namespace: ns } }],
          'current-context': 'kargo',
        }),
        { mode: 0o600 },
      );
      return file;
    };

    // ── environment common to the three processes ──
    const home = path.join(dir, 'home');
    const tmp = path.join(dir, 'tmp');
    fs.mkdirSync(home);
    fs.mkdirSync(tmp);
    const closedPort = await freePort(); // nothing listens here: the metadata probe and any proxied request fail fast
    const blackhole = `http://127.0.0.1:${closedPort}`;
    const loopback = '127.0.0.1,localhost,::1';
    const baseEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: home,
      TMPDIR: tmp,
      GCE_METADATA_HOST: `127.0.0.1:${closedPort}`,
      GCE_METADATA_IP: `127.0.0.1:${closedPort}`,
      AWS_EC2_METADATA_DISABLED: 'true',
      HTTP_PROXY: blackhole,
      HTTPS_PROXY: blackhole,
      http_proxy: blackhole,
      https_proxy: blackhole,
      NO_PROXY: loopback,
      no_proxy: loopback,
      GIT_CONFIG_NOSYSTEM: '1',
      LOG_LEVEL: options.logLevel ?? process.env.KARGO_LOG_LEVEL ?? 'info',
      LOG_FORMAT: 'console',
      METRICS_BIND_ADDRESS: '0',
    };

    const spawnComponent = (
      component: KargoComponent,
      kubeconfig: string,
      env: Record<string, string>,
    ): RunningProcess => {
      const logFile = path.join(dir, `${component}.log`);
      const fd = fs.openSync(logFile, 'a');
      const child = spawn(tools.binary, [component], {
        env: { ...baseEnv, KUBECONFIG: kubeconfig, ...env },
        cwd: dir,
        stdio: ['ignore', fd, fd],
      });
      fs.closeSync(fd);
      entry.children.push(child);
      const running = { component, child, logFile };
      processes.push(running);
      return running;
    };
    const alive = (p: RunningProcess): void => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) {
        throw new Error(
          `kargo-controlplane ${p.component} exited (${p.child.exitCode ?? p.child.signalCode}):\n${tail(p.logFile)}`,
        );
      }
    };

    // ── kubernetes-webhooks-server ──
    // controller-runtime reads the serving certificate from $TMPDIR/k8s-webhook-server/serving-certs.
    const certDir = path.join(tmp, 'k8s-webhook-server', 'serving-certs');
    fs.mkdirSync(certDir, { recursive: true });
    fs.writeFileSync(path.join(certDir, 'tls.crt'), options.servingCert.certPem);
    fs.writeFileSync(path.join(certDir, 'tls.key'), options.servingCert.keyPem, { mode: 0o600 });
    const webhookPort = await freePort();
    const webhooksUrl = `https://127.0.0.1:${webhookPort}`;
    const webhooks = spawnComponent(
      'kubernetes-webhooks-server',
      await kubeconfigFor(KARGO_SERVICE_ACCOUNTS.webhooksServer),
      { ...webhooksServerEnv(ns), WEBHOOK_SERVER_PORT: String(webhookPort) },
    );
    // ── management-controller, controller: started at once (the controller spends ~10 s at start probing
    // the GCE metadata address, which fails fast on the closed loopback port but is retried); they only write
    // once there is something to reconcile, after the webhooks are live.
    const management = spawnComponent(
      'management-controller',
      await kubeconfigFor(KARGO_SERVICE_ACCOUNTS.managementController),
      {
        KARGO_NAMESPACE: ns,
        // Only rendered into ProjectConfig webhook receiver URLs; never called.
        EXTERNAL_WEBHOOK_SERVER_BASE_URL: blackhole,
        CLUSTER_SECRETS_NAMESPACE: 'kargo-cluster-secrets',
        SYSTEM_RESOURCES_NAMESPACE: 'kargo-system-resources',
        SHARED_RESOURCES_NAMESPACE: 'kargo-shared-resources',
        // The controller is bound to cluster-admin here (see the header), so no per-project RoleBindings.
        MANAGE_CONTROLLER_ROLE_BINDINGS: 'false',
      },
    );
    const controller = spawnComponent('controller', await kubeconfigFor(KARGO_SERVICE_ACCOUNTS.controller), {
      KARGO_NAMESPACE: ns,
      IS_DEFAULT_CONTROLLER: 'true',
      SYSTEM_RESOURCES_NAMESPACE: 'kargo-system-resources',
      SHARED_RESOURCES_NAMESPACE: 'kargo-shared-resources',
      ALLOW_CREDENTIALS_OVER_HTTP: 'false',
      ARGOCD_INTEGRATION_ENABLED: 'false',
      ROLLOUTS_INTEGRATION_ENABLED: 'false',
      GITCLIENT_NAME: 'Kargo',
      GITCLIENT_EMAIL: 'no-reply@kargo.io',
    });
    // A detached shell that ends the three processes if this one dies without its exit handler (SIGKILL).
    const pids = processes.map((p) => p.child.pid).filter((pid): pid is number => typeof pid === 'number');
    watchdog = spawn(
      '/bin/sh',
      [
        '-c',
        `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${pids.join(' ')} 2>/dev/null; ` +
          (keepLogs ? 'true' : `rm -rf '${dir.replace(/'/g, '')}'`),
      ],
      { detached: true, stdio: 'ignore' },
    );
    watchdog.unref();
    entry.children.push(watchdog);
    guard = new NetworkGuard(() =>
      processes.map((p) => p.child.pid).filter((pid): pid is number => typeof pid === 'number'),
    );
    guard.start();
    await waitUntil('the Kargo webhooks server', readyTimeoutMs, async () => {
      alive(webhooks);
      return (await tlsProbe(webhooksUrl, options.caPem)) > 0;
    });
    for (const config of webhookConfigurations(tools.chartDir, webhooksUrl, options.caPem)) {
      await objects.create(config).catch(ignoreExists);
    }
    // The configurations are live once the API server calls them: a ProjectConfig whose name is not its
    // namespace's is refused by Kargo's validating webhook (dry run: nothing is stored).
    await waitUntil('the Kargo admission webhooks', readyTimeoutMs, async () => {
      alive(webhooks);
      try {
        await custom.createNamespacedCustomObject({
          group: KARGO_GROUP,
          version: 'v1alpha1',
          namespace: ns,
          plural: 'projectconfigs',
          dryRun: 'All',
          body: {
            apiVersion: `${KARGO_GROUP}/v1alpha1`,
            kind: 'ProjectConfig',
            metadata: { name: 'webhook-readiness-probe', namespace: ns },
          },
        });
        return false;
      } catch (err) {
        return /denied the request/.test(String((err as { body?: unknown }).body ?? err));
      }
    });

    await waitUntil('the Kargo controllers', readyTimeoutMs, () => {
      alive(management);
      alive(controller);
      // controller-runtime logs this once a controller's caches synced and its workers run.
      const running = (file: string, name: string) =>
        new RegExp(`Starting workers.*"controller": "${name}"`).test(readText(file));
      return (
        ['warehouse', 'stage', 'promotion'].every((c) => running(controller.logFile, c)) &&
        ['project', 'projectconfig', 'namespace'].every((c) => running(management.logFile, c))
      );
    });

    const byComponent = (c: KargoComponent): RunningProcess => processes.find((p) => p.component === c)!;
    const network = guard;
    return {
      dir,
      webhooksUrl,
      pids: () =>
        Object.fromEntries(processes.map((p) => [p.component, p.child.pid])) as Record<
          KargoComponent,
          number | undefined
        >,
      logTail: (c, lines) => tail(byComponent(c).logFile, lines),
      log: (c) => readText(byComponent(c).logFile),
      crashed: () =>
        processes
          .filter((p) => p.child.exitCode !== null || p.child.signalCode !== null)
          .filter(() => !stopped)
          .map(
            (p) => `${p.component} exited (${p.child.exitCode ?? p.child.signalCode}):\n${tail(p.logFile)}`,
          ),
      network,
      startupMs: Date.now() - started,
      stop,
    };
  } catch (err) {
    const logs = processes.map((p) => `--- ${p.component}:\n${tail(p.logFile, 15)}`).join('\n');
    await stop();
    throw new Error(`${(err as Error).message}${logs ? `\n${logs}` : ''}`, { cause: err });
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function ignoreExists(err: unknown): void {
  const code = (err as { code?: number }).code;
  if (code === 409) return;
  throw err;
}

async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean> | boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let delay = 50; ; delay = Math.min(delay * 1.5, 500)) {
    try {
      if (await check()) return;
    } catch (err) {
      if (/exited \(/.test(String(err))) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} not ready after ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`,
      );
    }
    await sleep(delay);
  }
}

/** HTTPS GET → status (0 when nothing answers), verifying the server against `caPem`. */
function tlsProbe(url: string, caPem: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca: caPem, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}
