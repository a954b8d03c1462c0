// The Kubernetes manifests in deploy/. Two halves:
//   1. plain YAML (no server): the kustomization lists every manifest; web and worker keep their promises
//      (probes, resources, non-root security contexts, service accounts, secrets only referenced);
//      selectors select the pods they mean to; the NetworkPolicy allows exactly what deploy/README.md
//      says; the ConfigMaps plus the example Secret load as a valid configuration for each process;
//   2. a real kube-apiserver (test/support/envtest.ts): every manifest is server-side applied with strict
//      field validation (dry run, then for real and read back), pods made from the templates pass Pod
//      Security Admission's "restricted" standard, and SubjectAccessReviews show what each
//      ServiceAccount may do.
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type {
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1PodDisruptionBudget,
  V1PodSpec,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { loadConfig } from '../../src/config/load.js';
import { describeWithEnvtest, type Envtest } from '../support/envtest.js';
import {
  CREDENTIAL_PATTERN,
  SECRET_ENVS,
  SETTING_ENVS,
  deployDir,
  readRepoFile,
  yamlDocument,
  yamlDocuments,
} from './helpers.js';

// ---- the manifests ----------------------------------------------------------------------------------------

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
// NetworkPolicy as written in YAML (client-node's model renames `from` to `_from`).
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: unknown[];
}
interface NetworkPolicyPeer {
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}
interface NetworkPolicyPort {
  protocol?: string;
  port?: number | string;
}
interface NetworkPolicy {
  metadata: { name: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: Array<'Ingress' | 'Egress'>;
    ingress?: Array<{ from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;
    egress?: Array<{ to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;
  };
}
interface Kustomization {
  resources: string[];
  namespace?: string;
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
  secretGenerator?: unknown;
}

const kustomization = yamlDocument<Kustomization>('deploy/kustomization.yaml');
const redisKustomization = yamlDocument<Kustomization>('deploy/redis/kustomization.yaml');
const MANIFESTS = kustomization.resources.map((r) => `deploy/${r}`);
const OPTIONAL_MANIFESTS = redisKustomization.resources.map((r) => `deploy/redis/${r}`);
const SECRET_EXAMPLE = 'deploy/secret.example.yaml';

const objects = MANIFESTS.flatMap((file) => yamlDocuments<KubeObject>(file).map((obj) => ({ file, obj })));
const optionalObjects = OPTIONAL_MANIFESTS.flatMap((file) =>
  yamlDocuments<KubeObject>(file).map((obj) => ({ file, obj })),
);

function find<T>(kind: string, name: string, from = objects): T {
  const hit = from.find((o) => o.obj.kind === kind && o.obj.metadata.name === name);
  if (!hit) throw new Error(`no ${kind} ${name} in ${from.map((o) => o.file).join(', ')}`);
  return hit.obj as unknown as T;
}
const all = <T>(kind: string, from = objects): T[] =>
  from.filter((o) => o.obj.kind === kind).map((o) => o.obj as unknown as T);

const BOT_NAMESPACE = 'chatops';
const web = find<V1Deployment>('Deployment', 'chatops-bot-web');
const worker = find<V1Deployment>('Deployment', 'chatops-bot-worker');
const podSpec = (d: V1Deployment | V1StatefulSet): V1PodSpec => d.spec!.template.spec!;
const container = (d: V1Deployment): V1Container => {
  expect(podSpec(d).containers).toHaveLength(1);
  return podSpec(d).containers[0]!;
};
const envConfigMap = find<V1ConfigMap>('ConfigMap', 'chatops-bot-env');
const policyConfigMap = find<V1ConfigMap>('ConfigMap', 'chatops-bot-config');
const secretExample = yamlDocument<V1Secret>(SECRET_EXAMPLE);
const role = find<V1Role>('Role', 'chatops-bot');
const roleBinding = find<V1RoleBinding>('RoleBinding', 'chatops-bot');

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const podLabels = (d: V1Deployment | V1StatefulSet): Record<string, string> =>
  d.spec!.template.metadata!.labels!;

/** CPU in cores, memory in bytes. */
function quantity(value: string | number | undefined): number {
  if (value === undefined) return NaN;
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(String(value));
  if (!m) throw new Error(`unsupported quantity ${String(value)}`);
  const unit = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

/** The container port a probe or Service targetPort refers to (by name or number). */
function portNumber(c: V1Container, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

interface Role_ {
  name: 'web' | 'worker';
  deployment: V1Deployment;
  /** The setting that holds the port the process serves /healthz, /readyz and /metrics on. */
  portSetting: 'PORT' | 'WORKER_PORT';
}
const ROLES: Role_[] = [
  { name: 'web', deployment: web, portSetting: 'PORT' },
  { name: 'worker', deployment: worker, portSetting: 'WORKER_PORT' },
];

/** What the process would see as its environment: ConfigMaps, the example Secret, the mounted config file. */
function processEnv(d: V1Deployment, configDir: string): Record<string, string> {
  const c = container(d);
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, find<V1ConfigMap>('ConfigMap', from.configMapRef.name!).data);
    if (from.secretRef) Object.assign(env, secretExample.stringData);
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const secretRef = e.valueFrom?.secretKeyRef;
    if (secretRef) {
      const value = secretExample.stringData?.[secretRef.key];
      if (value !== undefined) env[e.name] = value;
      else if (!secretRef.optional)
        throw new Error(`${e.name}: key ${secretRef.key} missing from ${SECRET_EXAMPLE}`);
    }
    const configRef = e.valueFrom?.configMapKeyRef;
    if (configRef) env[e.name] = find<V1ConfigMap>('ConfigMap', configRef.name!).data![configRef.key]!;
  }
  // CONFIG_FILE points into a ConfigMap volume: write that file where the test can read it.
  if (env.CONFIG_FILE) {
    const mount = c.volumeMounts?.find((m) => env.CONFIG_FILE!.startsWith(`${m.mountPath}/`));
    const volume = podSpec(d).volumes?.find((v) => v.name === mount?.name);
    const key = env.CONFIG_FILE.slice(mount!.mountPath.length + 1);
    const data = find<V1ConfigMap>('ConfigMap', volume!.configMap!.name!).data![key];
    if (data === undefined)
      throw new Error(`CONFIG_FILE ${env.CONFIG_FILE}: no key ${key} in the mounted ConfigMap`);
    env.CONFIG_FILE = path.join(configDir, key);
    fs.writeFileSync(env.CONFIG_FILE, data);
  }
  return env;
}

// ---- 1. plain YAML ----------------------------------------------------------------------------------------

describe('deploy/kustomization.yaml', () => {
  it('lists every manifest of deploy/ except the example Secret (and redis/, a separate kustomization)', () => {
    const files = fs
      .readdirSync(deployDir)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'secret.example.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    expect(kustomization.resources.some((r) => r.includes('secret') || r.includes('redis'))).toBe(false);
    expect(redisKustomization.resources).toEqual(['redis.yaml']);
  });

  it('sets no namespace (rbac.yaml lives in the Kargo project namespace) and generates no Secret', () => {
    expect(kustomization.namespace).toBeUndefined();
    expect(kustomization.secretGenerator).toBeUndefined();
    expect(all('Secret')).toEqual([]);
  });

  it("pins the image both Deployments run, at package.json's version", () => {
    const version = (JSON.parse(readRepoFile('package.json')) as { version: string }).version;
    const images = ROLES.map((r) => container(r.deployment).image!);
    expect(new Set(images).size).toBe(1);
    const [name, tag] = images[0]!.split(/:(?=[^:/]+$)/);
    expect(tag).toBe(version);
    // kustomize rewrites that image (an operator may point newName at their registry, or pin a digest).
    const override = kustomization.images?.find((i) => i.name === name);
    expect(override).toBeDefined();
    expect(override!.newTag ?? version).toBe(version);
  });
});

describe('deploy/: namespaces', () => {
  it('names the namespace of every namespaced object: chatops, except the Role and RoleBinding', () => {
    for (const { file, obj } of [...objects, ...optionalObjects]) {
      if (obj.kind === 'Namespace') continue;
      const expected =
        obj.kind === 'Role' || obj.kind === 'RoleBinding' ? envConfigMap.data!.KARGO_PROJECT : BOT_NAMESPACE;
      expect({ file, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace }).toEqual({
        file,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: expected,
      });
    }
  });

  it('creates the bot\'s own namespace, never Kargo\'s, with Pod Security "restricted" enforced', () => {
    const namespaces = all<KubeObject>('Namespace');
    expect(namespaces.map((n) => n.metadata.name)).toEqual([BOT_NAMESPACE]);
    expect(namespaces[0]!.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(objects.some(({ obj }) => obj.metadata.namespace === 'kargo')).toBe(false);
  });
});

describe.each(ROLES)('deploy/: the $name Deployment', ({ name, deployment, portSetting }) => {
  const c = container(deployment);
  const port = Number(envConfigMap.data![portSetting]);

  it('runs 2 replicas of the image with its role as the argument', () => {
    expect(deployment.spec!.replicas).toBe(2);
    expect(c.args).toEqual([name]);
    expect(c.command).toBeUndefined(); // the image's ENTRYPOINT: node dist/main.js
  });

  it(`serves on ${portSetting} (from the ConfigMap), with liveness on /healthz and readiness on /readyz`, () => {
    expect(c.ports?.map((p) => p.containerPort)).toEqual([port]);
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(portNumber(c, c.livenessProbe?.httpGet?.port)).toBe(port);
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(portNumber(c, c.readinessProbe?.httpGet?.port)).toBe(port);
    // A slow start is covered by the startup probe, not by a lenient liveness probe.
    expect(c.startupProbe?.httpGet?.path).toBe('/healthz');
    expect(portNumber(c, c.startupProbe?.httpGet?.port)).toBe(port);
  });

  it('requests and limits CPU and memory (limits ≥ requests)', () => {
    const { requests, limits } = c.resources ?? {};
    for (const resource of ['cpu', 'memory']) {
      expect(quantity(requests?.[resource])).toBeGreaterThan(0);
      expect(quantity(limits?.[resource])).toBeGreaterThanOrEqual(quantity(requests?.[resource]));
    }
  });

  it('runs as non-root 10001 with a read-only root filesystem, no capabilities, RuntimeDefault seccomp', () => {
    const pod = podSpec(deployment).securityContext!;
    expect(pod.runAsNonRoot).toBe(true);
    expect(pod.runAsUser).toBe(10001);
    expect(pod.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    const sc = c.securityContext!;
    expect(sc.runAsNonRoot).toBe(true);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.privileged).toBeFalsy();
    expect(sc.capabilities).toEqual({ drop: ['ALL'] });
    expect(sc.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    // The only writable place is an emptyDir at /tmp.
    const writable = (c.volumeMounts ?? []).filter((m) => !m.readOnly);
    expect(writable.map((m) => m.mountPath)).toEqual(['/tmp']);
    const tmp = podSpec(deployment).volumes!.find((v) => v.name === writable[0]!.name);
    expect(tmp?.emptyDir).toBeDefined();
  });

  it('reads its access policy from the ConfigMap mounted at CONFIG_FILE', () => {
    const file = envConfigMap.data!.CONFIG_FILE!;
    const mount = c.volumeMounts!.find((m) => file.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    const volume = podSpec(deployment).volumes!.find((v) => v.name === mount!.name);
    expect(volume?.configMap?.name).toBe(policyConfigMap.metadata!.name);
    expect(Object.keys(policyConfigMap.data!)).toContain(path.posix.basename(file));
  });

  it('never runs with a kubeconfig file: in-cluster credentials or none', () => {
    const env = processEnv(deployment, fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-')));
    expect(env.KUBECONFIG).toBeUndefined();
  });
});

describe('deploy/: ServiceAccounts', () => {
  it('the worker runs as the ServiceAccount that rbac.yaml binds, with its token mounted', () => {
    const sa = podSpec(worker).serviceAccountName!;
    expect(roleBinding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: role.metadata!.name,
    });
    expect(roleBinding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace: BOT_NAMESPACE }]);
    expect(find<V1ServiceAccount>('ServiceAccount', sa).metadata!.namespace).toBe(BOT_NAMESPACE);
    expect(podSpec(worker).automountServiceAccountToken).toBe(true);
  });

  it('the web process has its own ServiceAccount, bound to nothing, with no token mounted', () => {
    const sa = podSpec(web).serviceAccountName!;
    expect(sa).not.toBe(podSpec(worker).serviceAccountName);
    expect(find<V1ServiceAccount>('ServiceAccount', sa).automountServiceAccountToken).toBe(false);
    expect(podSpec(web).automountServiceAccountToken).toBe(false);
    const bindings = [...all<V1RoleBinding>('RoleBinding'), ...all<V1RoleBinding>('ClusterRoleBinding')];
    expect(bindings.flatMap((b) => b.subjects ?? []).filter((s) => s.name === sa)).toEqual([]);
  });

  it('KARGO_PROJECT and the Kargo stage names match the Role (namespace and `promote` resourceNames)', () => {
    expect(role.metadata!.namespace).toBe(envConfigMap.data!.KARGO_PROJECT);
    const promote = role.rules!.find((r) => r.verbs.includes('promote'));
    expect(promote?.resourceNames).toEqual(
      expect.arrayContaining([envConfigMap.data!.KARGO_STAGE_DEV, envConfigMap.data!.KARGO_STAGE_PROD]),
    );
  });
});

describe('deploy/: secrets are only referenced', () => {
  const botContainers = ROLES.map((r) => ({ role: r.name, c: container(r.deployment) }));

  it.each(botContainers)(
    '$role: every secret setting comes from secretKeyRef of the Secret chatops-bot',
    ({ c }) => {
      for (const e of c.env ?? []) {
        if (!SECRET_ENVS.has(e.name)) continue;
        expect({
          name: e.name,
          value: e.value,
          ref: e.valueFrom?.secretKeyRef?.name,
          key: e.valueFrom?.secretKeyRef?.key,
        }).toEqual({
          name: e.name,
          value: undefined,
          ref: 'chatops-bot',
          key: e.name,
        });
      }
      for (const from of c.envFrom ?? []) {
        if (from.secretRef) expect(from.secretRef.name).toBe('chatops-bot');
        if (from.configMapRef) {
          const data = find<V1ConfigMap>('ConfigMap', from.configMapRef.name!).data ?? {};
          expect(Object.keys(data).filter((k) => SECRET_ENVS.has(k))).toEqual([]);
        }
      }
    },
  );

  it.each(botContainers)('$role: every variable it sets is a setting of src/config/settings.ts', ({ c }) => {
    const names = [
      ...(c.env ?? []).map((e) => e.name),
      ...(c.envFrom ?? []).flatMap((f) =>
        f.configMapRef ? Object.keys(find<V1ConfigMap>('ConfigMap', f.configMapRef.name!).data ?? {}) : [],
      ),
    ];
    expect(names.filter((n) => !SETTING_ENVS.includes(n))).toEqual([]);
  });

  it('no ConfigMap holds a secret setting, not even inside the mounted config file', () => {
    for (const cm of all<V1ConfigMap>('ConfigMap')) {
      for (const [key, value] of Object.entries(cm.data ?? {})) {
        expect(SECRET_ENVS.has(key)).toBe(false);
        for (const secret of SECRET_ENVS) expect(value).not.toMatch(new RegExp(`^\\s*${secret}\\s*:`, 'm'));
      }
    }
  });

  it('no manifest contains anything that looks like a real credential', () => {
    for (const file of [...MANIFESTS, ...OPTIONAL_MANIFESTS, SECRET_EXAMPLE]) {
      expect({ file, credential: CREDENTIAL_PATTERN.test(readRepoFile(file)) }).toEqual({
        file,
        credential: false,
      });
    }
  });

  it('each process gets only the secrets it uses', () => {
    const secretsOf = (d: V1Deployment) =>
      (container(d).env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
    // The web process verifies requests and enqueues: no GitHub App key or token (and so no App ids either).
    expect(secretsOf(web)).not.toEqual(expect.arrayContaining(['GITHUB_APP_PRIVATE_KEY']));
    expect(secretsOf(web)).not.toContain('GITHUB_TOKEN');
    expect(container(web).envFrom?.map((f) => f.configMapRef?.name)).toEqual(['chatops-bot-env']);
    // The worker receives no webhooks.
    expect(secretsOf(worker)).not.toContain('GITHUB_WEBHOOK_SECRET');
    expect(secretsOf(worker)).toContain('GITHUB_APP_PRIVATE_KEY');
  });

  it(`${SECRET_EXAMPLE}: the Secret chatops-bot, placeholders only, covering every required reference`, () => {
    expect(secretExample.kind).toBe('Secret');
    expect(secretExample.metadata).toMatchObject({ name: 'chatops-bot', namespace: BOT_NAMESPACE });
    const data = secretExample.stringData ?? {};
    expect(secretExample.data).toBeUndefined();
    for (const [key, value] of Object.entries(data)) {
      expect(SECRET_ENVS.has(key)).toBe(true);
      expect({ key, placeholder: /replace/i.test(value) }).toEqual({ key, placeholder: true });
    }
    for (const { c } of botContainers) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !ref.optional) expect(Object.keys(data)).toContain(ref.key);
      }
    }
  });
});

describe('deploy/: the configuration each process would load', () => {
  it('web: the ConfigMaps, the example Secret and the access policy load (no GitHub credentials)', () => {
    const config = loadConfig(processEnv(web, fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-web-'))));
    expect(config.slack.mode).toBe('http');
    expect(config.github.auth).toEqual({ kind: 'none' });
    expect(config.github.webhookSecret).toBeDefined();
    expect(config.kargo.kubeconfig).toBeUndefined();
    expect(
      config.access.promote.prod.groups.length + config.access.promote.prod.users.length,
    ).toBeGreaterThan(0);
  });

  it('worker: the same plus the GitHub App (ids from its ConfigMap, key from the Secret)', () => {
    const config = loadConfig(processEnv(worker, fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-worker-'))));
    expect(config.github.auth.kind).toBe('app');
    expect(config.http.workerPort).toBe(Number(envConfigMap.data!.WORKER_PORT));
    expect(config.kargo.project).toBe(role.metadata!.namespace);
    expect(config.aws.region).toBe(find<V1ConfigMap>('ConfigMap', 'chatops-bot-worker-env').data!.AWS_REGION);
    // Production talks to AWS itself: the sandbox's endpoint overrides are never set.
    expect(config.aws.dynamodbEndpoint).toBeUndefined();
    expect(config.aws.s3Endpoint).toBeUndefined();
  });
});

describe('deploy/: Service and PodDisruptionBudgets select the right pods', () => {
  it('the web Service sends port 80 to the web pods on 3000, and never to the worker', () => {
    const service = find<V1Service>('Service', 'chatops-bot-web');
    expect(matches(service.spec!.selector, podLabels(web))).toBe(true);
    expect(matches(service.spec!.selector, podLabels(worker))).toBe(false);
    expect(service.spec!.ports).toHaveLength(1);
    const port = service.spec!.ports![0]!;
    expect(port.port).toBe(80);
    expect(portNumber(container(web), port.targetPort)).toBe(Number(envConfigMap.data!.PORT));
  });

  it.each(ROLES)('a PodDisruptionBudget keeps $name pods available during drains', ({ deployment }) => {
    const pdb = all<V1PodDisruptionBudget>('PodDisruptionBudget').find((p) =>
      matches(p.spec!.selector!.matchLabels, podLabels(deployment)),
    );
    expect(pdb).toBeDefined();
    expect(pdb!.spec!.selector!.matchExpressions).toBeUndefined();
    const replicas = deployment.spec!.replicas!;
    const available = pdb!.spec!.minAvailable ?? replicas - Number(pdb!.spec!.maxUnavailable);
    expect(Number(available)).toBeGreaterThanOrEqual(1);
    expect(Number(available)).toBeLessThan(replicas); // a drain can still make progress
  });

  it('each Deployment selector selects its own pod template only', () => {
    for (const d of [web, worker]) {
      expect(matches(d.spec!.selector.matchLabels, podLabels(d))).toBe(true);
      const other = d === web ? worker : web;
      expect(matches(d.spec!.selector.matchLabels, podLabels(other))).toBe(false);
    }
  });
});

describe('deploy/networkpolicy.yaml', () => {
  const policies = all<NetworkPolicy>('NetworkPolicy');
  const selecting = (labels: Record<string, string>, type: 'Ingress' | 'Egress') =>
    policies.filter(
      (p) => matches(p.spec!.podSelector.matchLabels, labels) && p.spec!.policyTypes?.includes(type),
    );
  const peerName = (peer: NetworkPolicyPeer): string =>
    peer.namespaceSelector
      ? `ns:${peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name'] ?? '?'}${peer.podSelector ? `/${JSON.stringify(peer.podSelector.matchLabels)}` : ''}`
      : peer.ipBlock
        ? `ip:${peer.ipBlock.cidr}`
        : 'pods';
  /** Every (peer, protocol/port) pair a pod may receive from. */
  const ingressOf = (labels: Record<string, string>): string[] =>
    selecting(labels, 'Ingress')
      .flatMap((p) => p.spec!.ingress ?? [])
      .flatMap((rule) =>
        (rule.from ?? []).flatMap((peer) =>
          (rule.ports ?? []).map((port) => `${peerName(peer)} ${port.protocol}/${port.port}`),
        ),
      )
      .sort();
  const egressOf = (labels: Record<string, string>): string[] =>
    selecting(labels, 'Egress')
      .flatMap((p) => p.spec!.egress ?? [])
      .flatMap((rule) =>
        (rule.to?.length ? rule.to : [undefined]).flatMap((peer) =>
          (rule.ports ?? []).map((port) => `${peer ? peerName(peer) : 'any'} ${port.protocol}/${port.port}`),
        ),
      )
      .sort();

  it('denies all ingress to the namespace by default', () => {
    const deny = policies.find((p) => Object.keys(p.spec!.podSelector.matchLabels ?? {}).length === 0);
    expect(deny).toBeDefined();
    expect(deny!.spec!.podSelector.matchExpressions).toBeUndefined();
    expect(deny!.spec!.policyTypes).toEqual(['Ingress']);
    expect(deny!.spec!.ingress).toBeUndefined();
  });

  it('web: 3000 from the ingress controller namespace and from monitoring, nothing else', () => {
    expect(ingressOf(podLabels(web))).toEqual(['ns:ingress-nginx TCP/3000', 'ns:monitoring TCP/3000']);
  });

  it('worker: its metrics port 3001 from monitoring only', () => {
    expect(ingressOf(podLabels(worker))).toEqual(['ns:monitoring TCP/3001']);
  });

  const dns = [
    'ns:kube-system/{"k8s-app":"kube-dns"} TCP/53',
    'ns:kube-system/{"k8s-app":"kube-dns"} UDP/53',
  ];
  it('web egress: DNS, Redis and HTTPS only — no Kubernetes API', () => {
    expect(egressOf(podLabels(web))).toEqual([...dns, 'any TCP/443', 'any TCP/6379', 'any TCP/6380'].sort());
  });

  it('worker egress: DNS, Redis, HTTPS, the Kubernetes API server (6443) and the EKS Pod Identity agent', () => {
    expect(egressOf(podLabels(worker))).toEqual(
      [
        ...dns,
        'any TCP/443',
        'any TCP/6379',
        'any TCP/6380',
        'any TCP/6443',
        'ip:169.254.170.23/32 TCP/80',
      ].sort(),
    );
  });

  it('the namespaces it allows are the ones deploy/README.md tells operators to adjust', () => {
    const readme = readRepoFile('deploy/README.md');
    for (const ns of ['ingress-nginx', 'monitoring', 'kubernetes.io/metadata.name'])
      expect(readme).toContain(ns);
  });
});

describe('deploy/redis (optional)', () => {
  const statefulSet = find<V1StatefulSet>('StatefulSet', 'redis', optionalObjects);
  const redis = podSpec(statefulSet).containers[0]!;

  it('runs Redis with AOF (fsync every second) and maxmemory-policy noeviction, on a persistent volume', () => {
    const args = [...(redis.command ?? []), ...(redis.args ?? [])];
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(redis.image).toMatch(/^redis:7(\.\d+)*(-[a-z0-9.-]+)?$/);
    expect(flag('--appendonly')).toBe('yes');
    expect(flag('--appendfsync')).toBe('everysec');
    expect(flag('--maxmemory-policy')).toBe('noeviction');
    // maxmemory below the container limit: Redis refuses writes before the kernel kills it.
    expect(quantity(flag('--maxmemory')!.replace(/mb$/i, 'M').replace(/gb$/i, 'G'))).toBeLessThan(
      quantity(redis.resources?.limits?.memory),
    );
    const data = redis.volumeMounts?.find((m) => m.mountPath === flag('--dir'));
    expect(statefulSet.spec!.volumeClaimTemplates?.map((t) => t.metadata!.name)).toContain(data?.name);
  });

  it('is reachable by the bot pods only, as redis.chatops.svc:6379', () => {
    const policy = find<NetworkPolicy>('NetworkPolicy', 'redis', optionalObjects);
    expect(matches(policy.spec!.podSelector.matchLabels, podLabels(statefulSet))).toBe(true);
    const from = policy.spec!.ingress![0]!.from![0]!.podSelector!.matchLabels;
    expect(matches(from, podLabels(web)) && matches(from, podLabels(worker))).toBe(true);
    const service = find<V1Service>('Service', 'redis', optionalObjects);
    expect(service.spec!.ports![0]!.port).toBe(6379);
    expect(matches(service.spec!.selector, podLabels(statefulSet))).toBe(true);
  });
});

// ---- 2. a real kube-apiserver -----------------------------------------------------------------------------

interface ApiResponse {
  status: number;
  body: Record<string, unknown>;
}

describeWithEnvtest('deploy/ on a real kube-apiserver', (env: () => Envtest) => {
  let request: (
    method: string,
    urlPath: string,
    body?: unknown,
    contentType?: string,
  ) => Promise<ApiResponse>;
  const discovered = new Map<string, Array<{ name: string; kind: string; namespaced: boolean }>>();

  beforeAll(() => {
    const server = new URL(env().server);
    const token = env().adminKubeConfig.getCurrentUser()!.token!;
    request = (method, urlPath, body, contentType = 'application/json') =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = https.request(
          {
            host: server.hostname,
            port: server.port,
            path: urlPath,
            method,
            ca: env().caPem,
            headers: {
              authorization: `Bearer ${token}`,
              accept: 'application/json',
              ...(payload
                ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }
                : {}),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              resolve({
                status: res.statusCode ?? 0,
                body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
              });
            });
          },
        );
        req.on('error', reject);
        if (payload) req.write(payload);
        req.end();
      });
  });

  /** REST path of an object, from the API server's own discovery documents. */
  async function objectPath(obj: KubeObject): Promise<string> {
    const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
    if (!discovered.has(base)) {
      const res = await request('GET', base);
      expect(res.status).toBe(200);
      discovered.set(base, res.body.resources as Array<{ name: string; kind: string; namespaced: boolean }>);
    }
    const resource = discovered.get(base)!.find((r) => r.kind === obj.kind && !r.name.includes('/'));
    if (!resource) throw new Error(`the API server does not serve ${obj.apiVersion} ${obj.kind}`);
    const ns = resource.namespaced ? `/namespaces/${obj.metadata.namespace}` : '';
    return `${base}${ns}/${resource.name}/${obj.metadata.name}`;
  }

  /** Server-side apply with strict field validation: unknown or duplicate fields are errors, not dropped. */
  async function apply(obj: KubeObject, dryRun: boolean): Promise<ApiResponse> {
    const query = `fieldManager=deploy-test&force=true&fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`;
    return request('PATCH', `${await objectPath(obj)}?${query}`, obj, 'application/apply-patch+yaml');
  }

  const describeFailure = (res: ApiResponse) =>
    `${res.status} ${String(res.body.message ?? JSON.stringify(res.body))}`;

  it('accepts every manifest, the optional Redis and the example Secret (dry run, strict validation)', async () => {
    const files = [...MANIFESTS, ...OPTIONAL_MANIFESTS, SECRET_EXAMPLE];
    let count = 0;
    for (const file of files) {
      for (const obj of yamlDocuments<KubeObject>(file)) {
        const res = await apply(obj, true);
        expect({
          file,
          kind: obj.kind,
          name: obj.metadata.name,
          result: res.status < 300 ? 'ok' : describeFailure(res),
        }).toEqual({
          file,
          kind: obj.kind,
          name: obj.metadata.name,
          result: 'ok',
        });
        count += 1;
      }
    }
    expect(count).toBeGreaterThanOrEqual(objects.length + optionalObjects.length + 1);
  });

  it('really validates: a misspelled field is refused, not silently dropped', async () => {
    const broken = structuredClone(web) as unknown as KubeObject & {
      spec: { template: { spec: { containers: Array<Record<string, unknown>> } } };
    };
    broken.spec.template.spec.containers[0]!.readinesProbe = { httpGet: { path: '/readyz', port: 'http' } };
    const res = await apply(broken, true);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(String(res.body.message)).toMatch(/readinesProbe/);
  });

  it('applies the kustomization and reads back Deployments that keep every promise', async () => {
    for (const { obj } of objects) {
      const res = await apply(obj, false);
      expect({
        kind: obj.kind,
        name: obj.metadata.name,
        result: res.status < 300 ? 'ok' : describeFailure(res),
      }).toEqual({
        kind: obj.kind,
        name: obj.metadata.name,
        result: 'ok',
      });
    }
    for (const { deployment, name } of ROLES) {
      const res = await request('GET', await objectPath(deployment as unknown as KubeObject));
      expect(res.status).toBe(200);
      const stored = res.body as unknown as V1Deployment;
      const c = stored.spec!.template.spec!.containers[0]!;
      expect(stored.spec!.replicas).toBe(2);
      expect(c.args).toEqual([name]);
      expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(c.resources).toEqual(container(deployment).resources);
      expect(stored.spec!.template.spec!.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 10001,
      });
      expect(c.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      for (const e of c.env ?? []) {
        if (SECRET_ENVS.has(e.name)) expect(e.valueFrom?.secretKeyRef?.name).toBe('chatops-bot');
        if (SECRET_ENVS.has(e.name)) expect(e.value).toBeUndefined();
      }
      expect(stored.spec!.template.spec!.automountServiceAccountToken).toBe(name === 'worker');
    }
  });

  it('pods made from the web, worker and Redis templates pass Pod Security "restricted" (enforced on chatops)', async () => {
    const ns = await request('GET', `/api/v1/namespaces/${BOT_NAMESPACE}`);
    expect(
      (ns.body.metadata as { labels: Record<string, string> }).labels['pod-security.kubernetes.io/enforce'],
    ).toBe('restricted');
    const templates = [web, worker, find<V1StatefulSet>('StatefulSet', 'redis', optionalObjects)];
    for (const workload of templates) {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          generateName: `${workload.metadata!.name}-`,
          namespace: BOT_NAMESPACE,
          labels: podLabels(workload),
        },
        spec: {
          ...podSpec(workload),
          // What the StatefulSet controller adds: a volume per claim template.
          volumes: [
            ...(podSpec(workload).volumes ?? []),
            ...((workload as V1StatefulSet).spec!.volumeClaimTemplates ?? []).map((t) => ({
              name: t.metadata!.name!,
              persistentVolumeClaim: { claimName: `${t.metadata!.name!}-${workload.metadata!.name!}-0` },
            })),
          ],
        },
      };
      const res = await request(
        'POST',
        `/api/v1/namespaces/${BOT_NAMESPACE}/pods?dryRun=All&fieldValidation=Strict`,
        pod,
      );
      expect({
        workload: workload.metadata!.name,
        result: res.status < 300 ? 'ok' : describeFailure(res),
      }).toEqual({
        workload: workload.metadata!.name,
        result: 'ok',
      });
    }
    // The control: the same web pod allowed to run as root is refused by the admission plugin.
    const rootPod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'root-', namespace: BOT_NAMESPACE },
      spec: {
        ...podSpec(web),
        securityContext: { ...podSpec(web).securityContext, runAsNonRoot: false, runAsUser: 0 },
      },
    };
    const refused = await request('POST', `/api/v1/namespaces/${BOT_NAMESPACE}/pods?dryRun=All`, rootPod);
    expect(refused.status).toBe(403);
    expect(String(refused.body.message)).toMatch(/PodSecurity "restricted/);
  });

  async function allowed(serviceAccount: string, attributes: Record<string, string>): Promise<boolean> {
    const res = await request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: `system:serviceaccount:${BOT_NAMESPACE}:${serviceAccount}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${BOT_NAMESPACE}`, 'system:authenticated'],
        resourceAttributes: attributes,
      },
    });
    expect(res.status).toBe(201);
    return (res.body.status as { allowed: boolean }).allowed;
  }

  it("RBAC: the worker's ServiceAccount may create Promotions and promote; the web's may do nothing", async () => {
    const project = envConfigMap.data!.KARGO_PROJECT!;
    const createPromotion = {
      namespace: project,
      verb: 'create',
      group: 'kargo.akuity.io',
      resource: 'promotions',
    };
    const promoteProd = {
      namespace: project,
      verb: 'promote',
      group: 'kargo.akuity.io',
      resource: 'stages',
      name: envConfigMap.data!.KARGO_STAGE_PROD!,
    };
    const readSecret = { namespace: BOT_NAMESPACE, verb: 'get', resource: 'secrets', name: 'chatops-bot' };
    const workerSa = podSpec(worker).serviceAccountName!;
    const webSa = podSpec(web).serviceAccountName!;
    expect(await allowed(workerSa, createPromotion)).toBe(true);
    expect(await allowed(workerSa, promoteProd)).toBe(true);
    expect(await allowed(workerSa, readSecret)).toBe(false); // secrets reach pods as env, never through the API
    expect(await allowed(webSa, createPromotion)).toBe(false);
    expect(await allowed(webSa, promoteProd)).toBe(false);
    expect(
      await allowed(webSa, {
        namespace: project,
        verb: 'list',
        group: 'kargo.akuity.io',
        resource: 'freights',
      }),
    ).toBe(false);
    expect(await allowed(webSa, readSecret)).toBe(false);
  });
});
