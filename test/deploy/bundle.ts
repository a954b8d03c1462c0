// A set of Kubernetes objects that runs the bot — deploy/ (kustomize) or a render of the Helm chart — and the
// promises every such set must keep, written once so that both forms are held to the same ones:
//   - HOST is 0.0.0.0 in every container (the bot's own default, 127.0.0.1, is unreachable in a pod);
//   - /metrics is never served on the public port: the web's metrics are on METRICS_PORT, the worker's on
//     WORKER_PORT, and no Service forwards to either;
//   - only PORT is reachable from the ingress controller's namespace; only the private ports from monitoring;
//   - probes on the ports that serve them; V8's heap ceiling (NODE_OPTIONS) leaves room inside the memory limit.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from '@jest/globals';
import type {
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1PodSpec,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { loadConfig } from '../../src/config/load.js';
import { settingDefault } from './helpers.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

// NetworkPolicy as written in YAML (client-node's model renames `from` to `_from`).
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: unknown[];
}
export interface NetworkPolicyPeer {
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}
export interface NetworkPolicyPort {
  protocol?: string;
  port?: number | string;
}
export interface NetworkPolicy {
  metadata: { name: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: Array<'Ingress' | 'Egress'>;
    ingress?: Array<{ from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;
    egress?: Array<{ to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;
  };
}

export const matches = (
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

/** CPU in cores, memory in bytes. */
export function quantity(value: string | number | undefined): number {
  if (value === undefined) return NaN;
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(String(value));
  if (!m) throw new Error(`unsupported quantity ${String(value)}`);
  const unit = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

/** The container port a probe or Service targetPort refers to (by name or number). */
export function portNumber(c: V1Container, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** A V8 size flag (`--max-old-space-size`, `--max-semi-space-size`) from a NODE_OPTIONS value, in MiB. */
function v8SizeMiB(flag: string, nodeOptions: string | undefined): number | undefined {
  const m = new RegExp(`(?:^|\\s)${flag}=(\\d+)(?:\\s|$)`).exec(nodeOptions ?? '');
  return m ? Number(m[1]) : undefined;
}

/** --max-old-space-size from a NODE_OPTIONS value, in MiB (undefined when absent). */
export const maxOldSpaceMiB = (nodeOptions: string | undefined): number | undefined =>
  v8SizeMiB('--max-old-space-size', nodeOptions);

/** --max-semi-space-size from a NODE_OPTIONS value, in MiB (undefined when absent). */
export const semiSpaceMiB = (nodeOptions: string | undefined): number | undefined =>
  v8SizeMiB('--max-semi-space-size', nodeOptions);

/**
 * Native memory the processes were measured to hold outside V8's heap (RSS − heap total, compiled, idle;
 * deploy/README.md "Resources"): what a container's memory limit must keep free besides the heap, before
 * sockets, request bodies and malloc slack.
 */
export const MEASURED_NATIVE_MIB = { web: 53, worker: 74 } as const;
/** What must stay free inside the limit besides V8's heap ceiling: the native memory above plus this margin. */
export const NATIVE_MARGIN_MIB = 40;

export type Process = 'web' | 'worker';

/** The bot's objects, found by what they are rather than by name (names differ between deploy/ and Helm). */
export class Bundle {
  constructor(
    readonly source: string,
    readonly objects: KubeObject[],
    /** The Secret the processes' secretKeyRefs are resolved against (deploy/secret.example.yaml). */
    readonly secretExample: V1Secret,
  ) {}

  all<T>(kind: string): T[] {
    return this.objects.filter((o) => o.kind === kind) as unknown as T[];
  }

  find<T>(kind: string, name: string): T {
    const hit = this.objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!hit) throw new Error(`${this.source}: no ${kind} ${name}`);
    return hit as unknown as T;
  }

  /** The Deployment whose pods carry app.kubernetes.io/component: <process>. */
  deployment(process: Process): V1Deployment {
    const hits = this.all<V1Deployment>('Deployment').filter(
      (d) => podLabels(d)['app.kubernetes.io/component'] === process,
    );
    if (hits.length !== 1) throw new Error(`${this.source}: ${hits.length} ${process} Deployments`);
    return hits[0]!;
  }

  container(process: Process): V1Container {
    const containers = podSpec(this.deployment(process)).containers;
    expect(containers).toHaveLength(1);
    return containers[0]!;
  }

  /** What the process would see as its environment: ConfigMaps, the example Secret, the mounted config file. */
  processEnv(process: Process, configDir: string): Record<string, string> {
    const d = this.deployment(process);
    const c = this.container(process);
    const secret = this.secretExample.stringData ?? {};
    const env: Record<string, string> = {};
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef)
        Object.assign(env, this.find<V1ConfigMap>('ConfigMap', from.configMapRef.name!).data);
      if (from.secretRef) Object.assign(env, secret);
    }
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      const secretRef = e.valueFrom?.secretKeyRef;
      if (secretRef) {
        const value = secret[secretRef.key];
        if (value !== undefined) env[e.name] = value;
        else if (!secretRef.optional)
          throw new Error(`${e.name}: key ${secretRef.key} missing from the Secret`);
      }
      const configRef = e.valueFrom?.configMapKeyRef;
      if (configRef) env[e.name] = this.find<V1ConfigMap>('ConfigMap', configRef.name!).data![configRef.key]!;
    }
    // CONFIG_FILE points into a ConfigMap volume: write that file where the test can read it.
    if (env.CONFIG_FILE) {
      const mount = c.volumeMounts?.find((m) => env.CONFIG_FILE!.startsWith(`${m.mountPath}/`));
      const volume = podSpec(d).volumes?.find((v) => v.name === mount?.name);
      const key = env.CONFIG_FILE.slice(mount!.mountPath.length + 1);
      const data = this.find<V1ConfigMap>('ConfigMap', volume!.configMap!.name!).data![key];
      if (data === undefined)
        throw new Error(`CONFIG_FILE ${env.CONFIG_FILE}: no key ${key} in the mounted ConfigMap`);
      env.CONFIG_FILE = path.join(configDir, key);
      fs.writeFileSync(env.CONFIG_FILE, data);
    }
    return env;
  }

  /** Names of every variable a process's container sets (env and the keys of its envFrom ConfigMaps). */
  envNames(process: Process): string[] {
    const c = this.container(process);
    return [
      ...(c.env ?? []).map((e) => e.name),
      ...(c.envFrom ?? []).flatMap((f) =>
        f.configMapRef
          ? Object.keys(this.find<V1ConfigMap>('ConfigMap', f.configMapRef.name!).data ?? {})
          : [],
      ),
    ];
  }

  /** Every (peer, protocol/port) pair the pods with these labels may receive from. */
  ingressOf(labels: Record<string, string>): string[] {
    return this.policiesSelecting(labels, 'Ingress')
      .flatMap((p) => p.spec.ingress ?? [])
      .flatMap((rule) =>
        (rule.from ?? []).flatMap((peer) =>
          (rule.ports ?? []).map((port) => `${peerName(peer)} ${port.protocol}/${port.port}`),
        ),
      )
      .sort();
  }

  egressOf(labels: Record<string, string>): string[] {
    return this.policiesSelecting(labels, 'Egress')
      .flatMap((p) => p.spec.egress ?? [])
      .flatMap((rule) =>
        (rule.to?.length ? rule.to : [undefined]).flatMap((peer) =>
          (rule.ports ?? []).map((port) => `${peer ? peerName(peer) : 'any'} ${port.protocol}/${port.port}`),
        ),
      )
      .sort();
  }

  private policiesSelecting(labels: Record<string, string>, type: 'Ingress' | 'Egress'): NetworkPolicy[] {
    return this.all<NetworkPolicy>('NetworkPolicy').filter(
      (p) => matches(p.spec.podSelector.matchLabels, labels) && p.spec.policyTypes?.includes(type),
    );
  }
}

export const podSpec = (d: { spec?: { template: { spec?: V1PodSpec } } }): V1PodSpec =>
  d.spec!.template.spec!;
export const podLabels = (d: { spec?: { template: { metadata?: { labels?: Record<string, string> } } } }) =>
  d.spec!.template.metadata!.labels!;

export const peerName = (peer: NetworkPolicyPeer): string =>
  peer.namespaceSelector
    ? `ns:${peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name'] ?? '?'}${peer.podSelector ? `/${JSON.stringify(peer.podSelector.matchLabels)}` : ''}`
    : peer.ipBlock
      ? `ip:${peer.ipBlock.cidr}`
      : 'pods';

/** The ports each process is configured with, as it would load them. */
export function loadedPorts(bundle: Bundle, configDir: string) {
  const web = loadConfig(bundle.processEnv('web', configDir));
  const worker = loadConfig(bundle.processEnv('worker', configDir));
  return { web: web.http, worker: worker.http };
}

// ---- the promises -----------------------------------------------------------------------------------------

/** HOST is 0.0.0.0 in both containers, set explicitly (the bot's own default is 127.0.0.1). */
export function expectListensOnAllInterfaces(bundle: Bundle, configDir: string): void {
  expect(settingDefault('HOST')).toBe('127.0.0.1');
  for (const process of ['web', 'worker'] as const) {
    const env = bundle.processEnv(process, configDir);
    expect({ source: bundle.source, process, HOST: env.HOST }).toEqual({
      source: bundle.source,
      process,
      HOST: '0.0.0.0',
    });
    expect(loadConfig(env).http.host).toBe('0.0.0.0');
  }
}

/**
 * /metrics is never served on the public port: the web's container ports are exactly `http` = PORT and
 * `metrics` = METRICS_PORT (two different ports), the worker's exactly `metrics` = WORKER_PORT; the scrape
 * annotations name the private ports; no Service forwards to a private port or selects the worker.
 */
export function expectMetricsOnlyOnPrivatePorts(bundle: Bundle, configDir: string): void {
  const ports = loadedPorts(bundle, configDir);
  const web = bundle.container('web');
  const worker = bundle.container('worker');
  expect(ports.web.metricsPort).not.toBe(ports.web.port);
  expect(web.ports?.map((p) => [p.name, p.containerPort])).toEqual([
    ['http', ports.web.port],
    ['metrics', ports.web.metricsPort],
  ]);
  expect(worker.ports?.map((p) => [p.name, p.containerPort])).toEqual([['metrics', ports.worker.workerPort]]);

  const annotations = (process: Process) =>
    bundle.deployment(process).spec!.template.metadata!.annotations ?? {};
  for (const [process, port] of [
    ['web', ports.web.metricsPort],
    ['worker', ports.worker.workerPort],
  ] as const) {
    const a = annotations(process);
    if (a['prometheus.io/scrape'] === undefined) continue; // scrape annotations switched off (Helm)
    expect({
      process,
      scrape: a['prometheus.io/scrape'],
      port: a['prometheus.io/port'],
      path: a['prometheus.io/path'],
    }).toEqual({
      process,
      scrape: 'true',
      port: String(port),
      path: '/metrics',
    });
  }
  expect(annotations('web')['prometheus.io/port']).not.toBe(String(ports.web.port));

  const webLabels = podLabels(bundle.deployment('web'));
  const workerLabels = podLabels(bundle.deployment('worker'));
  const services = bundle.all<V1Service>('Service').filter((s) => s.spec?.selector);
  const webServices = services.filter((s) => matches(s.spec!.selector, webLabels));
  expect(webServices.length).toBeGreaterThanOrEqual(1);
  for (const service of webServices) {
    expect(service.spec!.ports!.map((p) => portNumber(web, p.targetPort))).toEqual([ports.web.port]);
  }
  expect(services.filter((s) => matches(s.spec!.selector, workerLabels))).toEqual([]);
}

/**
 * Ingress: only PORT on the web pods from the ingress controller's namespace; only METRICS_PORT (web) and
 * WORKER_PORT (worker) from the monitoring namespace; nothing else from anywhere.
 */
export function expectIngressOnlyWhereIntended(
  bundle: Bundle,
  configDir: string,
  namespaces: { ingress: string; monitoring: string } = {
    ingress: 'ingress-nginx',
    monitoring: 'monitoring',
  },
): void {
  const ports = loadedPorts(bundle, configDir);
  const webLabels = podLabels(bundle.deployment('web'));
  const workerLabels = podLabels(bundle.deployment('worker'));
  expect(bundle.ingressOf(webLabels)).toEqual(
    [
      `ns:${namespaces.ingress} TCP/${ports.web.port}`,
      `ns:${namespaces.monitoring} TCP/${ports.web.metricsPort}`,
    ].sort(),
  );
  expect(bundle.ingressOf(workerLabels)).toEqual([
    `ns:${namespaces.monitoring} TCP/${ports.worker.workerPort}`,
  ]);
  // Said the other way round: what the ingress controller's namespace may reach of the bot is PORT, only.
  const fromIngress = [webLabels, workerLabels]
    .flatMap((labels) => bundle.ingressOf(labels))
    .filter((rule) => rule.startsWith(`ns:${namespaces.ingress} `));
  expect(fromIngress).toEqual([`ns:${namespaces.ingress} TCP/${ports.web.port}`]);
  // And a default deny covers every pod of the namespace.
  const deny = bundle
    .all<NetworkPolicy>('NetworkPolicy')
    .find((p) => Object.keys(p.spec.podSelector.matchLabels ?? {}).length === 0);
  expect(deny?.spec.policyTypes).toEqual(['Ingress']);
  expect(deny?.spec.ingress).toBeUndefined();
}

/** Liveness and startup on /healthz, readiness on /readyz: the web's on PORT, the worker's on WORKER_PORT. */
export function expectProbes(bundle: Bundle, configDir: string): void {
  const ports = loadedPorts(bundle, configDir);
  for (const [process, port] of [
    ['web', ports.web.port],
    ['worker', ports.worker.workerPort],
  ] as const) {
    const c = bundle.container(process);
    const probe = (p: typeof c.livenessProbe) => [p?.httpGet?.path, portNumber(c, p?.httpGet?.port)];
    expect({
      process,
      liveness: probe(c.livenessProbe),
      readiness: probe(c.readinessProbe),
      startup: probe(c.startupProbe),
    }).toEqual({
      process,
      liveness: ['/healthz', port],
      readiness: ['/readyz', port],
      startup: ['/healthz', port],
    });
  }
}

/**
 * NODE_OPTIONS caps V8's old generation so that the heap ceiling plus the measured native memory plus a margin
 * fits inside the container's memory limit (with the young generation V8 uses in a cgroup that small, ~3 MiB).
 */
export function expectHeapFitsLimit(bundle: Bundle): void {
  for (const process of ['web', 'worker'] as const) {
    const c = bundle.container(process);
    const heap = maxOldSpaceMiB(c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value);
    expect({ process, heap: typeof heap }).toEqual({ process, heap: 'number' });
    const limitMiB = quantity(c.resources?.limits?.memory) / 2 ** 20;
    const room = limitMiB - heap! - 3;
    expect({
      process,
      limitMiB,
      heap,
      roomEnough: room >= MEASURED_NATIVE_MIB[process] + NATIVE_MARGIN_MIB,
    }).toEqual({
      process,
      limitMiB,
      heap,
      roomEnough: true,
    });
    // And not starved either: at least twice the heap the process holds at idle (web 58 MiB, worker 115 MiB).
    expect(heap!).toBeGreaterThanOrEqual(process === 'web' ? 116 : 230);
  }
}
