// The Kubernetes manifests in deploy/. Two halves:
//   1. plain YAML (no server): the kustomization lists every manifest; web and worker keep their promises
//      (HOST 0.0.0.0, /metrics only on the private ports, only PORT reachable from the ingress controller,
//      probes, resources from the measurements with their headroom, a V8 heap ceiling that fits the limit —
//      checked in a real memory cgroup —, non-root security contexts, service accounts, secrets only
//      referenced); selectors select the pods they mean to; the NetworkPolicy allows exactly what
//      deploy/README.md says; the ConfigMaps plus the example Secret load as a valid configuration for each
//      process. The promises shared with the Helm chart live in ./bundle.ts;
//   2. a real kube-apiserver (test/support/envtest.ts): every manifest is server-side applied with strict
//      field validation (dry run, then for real and read back), pods made from the templates pass Pod
//      Security Admission's "restricted" standard, SubjectAccessReviews show what each ServiceAccount may
//      do, and the worker's token really aborts a Promotion (the merge patch /cancel sends) and nothing more.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type {
  V1ConfigMap,
  V1Deployment,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { loadConfig } from '../../src/config/load.js';
import { describeWithEnvtest, type Envtest } from '../support/envtest.js';
import { createMemoryLimit } from '../support/memory-limit.js';
import { apiServer, describeFailure, type ApiServer } from './apiserver.js';
import {
  Bundle,
  MEASURED_NATIVE_MIB,
  NATIVE_MARGIN_MIB,
  expectHeapFitsLimit,
  expectIngressOnlyWhereIntended,
  expectListensOnAllInterfaces,
  expectMetricsOnlyOnPrivatePorts,
  expectProbes,
  matches,
  maxOldSpaceMiB,
  semiSpaceMiB,
  podLabels,
  podSpec,
  portNumber,
  quantity,
  type KubeObject,
  type NetworkPolicy,
} from './bundle.js';
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
const secretExample = yamlDocument<V1Secret>(SECRET_EXAMPLE);
/** deploy/ as one set of objects, held to the promises it shares with the Helm chart (./bundle.ts). */
const deployBundle = new Bundle(
  'deploy/',
  objects.map((o) => o.obj),
  secretExample,
);
const web = find<V1Deployment>('Deployment', 'chatops-bot-web');
const worker = find<V1Deployment>('Deployment', 'chatops-bot-worker');
const envConfigMap = find<V1ConfigMap>('ConfigMap', 'chatops-bot-env');
const policyConfigMap = find<V1ConfigMap>('ConfigMap', 'chatops-bot-config');
const role = find<V1Role>('Role', 'chatops-bot');
const roleBinding = find<V1RoleBinding>('RoleBinding', 'chatops-bot');
const tmpDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

interface Role_ {
  name: 'web' | 'worker';
  deployment: V1Deployment;
}
const ROLES: Role_[] = [
  { name: 'web', deployment: web },
  { name: 'worker', deployment: worker },
];
const container = (d: V1Deployment) => deployBundle.container(d === web ? 'web' : 'worker');
const processEnv = (d: V1Deployment, configDir: string) =>
  deployBundle.processEnv(d === web ? 'web' : 'worker', configDir);

/**
 * The web's memory, measured 2026-12-07 on a 2-core machine with Node 24.22.3 (deploy/web.yaml and
 * deploy/README.md "Resources" say how): idle RSS of the compiled process, and the worst RSS seen under load
 * (a burst of 2,000 signed slash commands, src/ through tsx, which adds ~25 MiB).
 */
const WEB_MEASURED_MIB = { idleRss: 110, worstRss: 219 };

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

describe('deploy/: where the processes listen', () => {
  it('HOST is 0.0.0.0 in both containers, set explicitly in the ConfigMap (the bot defaults to 127.0.0.1)', () => {
    expect(envConfigMap.data!.HOST).toBe('0.0.0.0');
    expectListensOnAllInterfaces(deployBundle, tmpDir('deploy-host-'));
  });

  it('/metrics is never served on the public port: web metrics on METRICS_PORT, worker on WORKER_PORT, no Service to either', () => {
    expectMetricsOnlyOnPrivatePorts(deployBundle, tmpDir('deploy-metrics-'));
    // The ports are the settings' defaults, written out in the ConfigMap.
    expect([
      envConfigMap.data!.PORT,
      envConfigMap.data!.METRICS_PORT,
      envConfigMap.data!.WORKER_PORT,
    ]).toEqual(['3000', '3002', '3001']);
  });

  it('only PORT is reachable from the ingress namespace; only the private ports from monitoring', () => {
    expectIngressOnlyWhereIntended(deployBundle, tmpDir('deploy-ingress-'));
  });

  it('probes: the web on its public port (the listener Slack reaches), the worker on WORKER_PORT', () => {
    expectProbes(deployBundle, tmpDir('deploy-probes-'));
  });
});

describe.each(ROLES)('deploy/: the $name Deployment', ({ name, deployment }) => {
  const c = container(deployment);

  it('runs 2 replicas of the image with its role as the argument', () => {
    expect(deployment.spec!.replicas).toBe(2);
    expect(c.args).toEqual([name]);
    expect(c.command).toBeUndefined(); // the image's ENTRYPOINT: node dist/main.js
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
    const env = processEnv(deployment, tmpDir('deploy-'));
    expect(env.KUBECONFIG).toBeUndefined();
  });
});

describe('deploy/: memory', () => {
  const limitMiB = (d: V1Deployment) => quantity(container(d).resources!.limits!.memory) / 2 ** 20;
  const requestMiB = (d: V1Deployment) => quantity(container(d).resources!.requests!.memory) / 2 ** 20;

  it('web: request ≥ the measured idle RSS, limit ≥ 1.5 × the worst RSS observed (the headroom stated beside them)', () => {
    expect(requestMiB(web)).toBeGreaterThanOrEqual(WEB_MEASURED_MIB.idleRss);
    expect(requestMiB(web)).toBeLessThan(WEB_MEASURED_MIB.worstRss); // a request, not a second limit
    expect(limitMiB(web)).toBeGreaterThanOrEqual(1.5 * WEB_MEASURED_MIB.worstRss);
    expect(limitMiB(web)).toBeLessThanOrEqual(2 * WEB_MEASURED_MIB.worstRss);
    // The figures are written where operators change the values.
    const text = readRepoFile('deploy/web.yaml');
    for (const figure of ['110 MiB', '219', '1.5 × 219', String(limitMiB(web))])
      expect(text).toContain(figure);
  });

  it('worker: the values stand, marked as not yet re-measured', () => {
    expect(container(worker).resources).toEqual({
      requests: { cpu: '100m', memory: '192Mi' },
      limits: { cpu: '1', memory: '384Mi' },
    });
    expect(readRepoFile('deploy/worker.yaml')).toMatch(/NOT YET RE-MEASURED/);
  });

  it("NODE_OPTIONS caps V8's heap so that heap + measured native memory + a margin fit the limit", () => {
    expectHeapFitsLimit(deployBundle);
  });

  // V8 in a memory cgroup of each container's limit (as the kubelet sets it): the heap ceiling it really takes
  // with the container's NODE_OPTIONS, and without. Node 24 does read the cgroup limit (uv_get_constrained_memory)
  // and sizes the heap from it, but never below a 256 MiB old generation: in any cgroup up to 512 MiB the
  // ceiling is 259 MiB. For the web (336 MiB) that leaves too little for its native memory, hence the flag; for
  // the worker (384 MiB) V8's floor happens to equal the flag today, which keeps the ceiling stated rather than
  // accidental (and right if the limit is lowered).
  it.each(ROLES)(
    '$name: in a cgroup of its memory limit, V8 takes the ceiling NODE_OPTIONS sets, which leaves the room',
    ({ name, deployment }) => {
      const limitBytes = limitMiB(deployment) * 2 ** 20;
      const nodeOptions = container(deployment).env!.find((e) => e.name === 'NODE_OPTIONS')!.value!;
      const cgroup = createMemoryLimit(`deploy-heap-${name}-${process.pid}`, limitBytes);
      if (!cgroup)
        process.stderr.write(
          `\n[deploy] no writable memory cgroup: V8 sizes its heap from the machine's memory here\n`,
        );
      const heapLimitMiB = (options: string | undefined, inCgroup = true): number => {
        const script = "process.stdout.write(String(require('v8').getHeapStatistics().heap_size_limit))";
        const args = ['-e', script];
        const env = { PATH: process.env.PATH ?? '', ...(options ? { NODE_OPTIONS: options } : {}) };
        const run =
          cgroup && inCgroup
            ? spawnSync(
                '/bin/sh',
                ['-c', 'echo $$ > "$0" && exec "$@"', cgroup.procsPath, process.execPath, ...args],
                {
                  env,
                  encoding: 'utf8',
                },
              )
            : spawnSync(process.execPath, args, { env, encoding: 'utf8' });
        expect(run.status).toBe(0);
        return Number(run.stdout) / 2 ** 20;
      };
      try {
        const needed = MEASURED_NATIVE_MIB[name] + NATIVE_MARGIN_MIB;
        const withFlag = heapLimitMiB(nodeOptions);
        // The ceiling is the flag's old generation plus the young generation: three semi-spaces' worth.
        const semiSpace = semiSpaceMiB(nodeOptions);
        expect(semiSpace).toBeDefined();
        expect(withFlag).toBeGreaterThanOrEqual(maxOldSpaceMiB(nodeOptions)! + 3 * semiSpace!);
        expect(withFlag).toBeLessThanOrEqual(maxOldSpaceMiB(nodeOptions)! + 3 * semiSpace! + 1);
        expect(limitMiB(deployment) - withFlag).toBeGreaterThanOrEqual(needed);
        // The young generation is stated too (--max-semi-space-size), so the process has the same heap outside
        // the pod's cgroup (the benchmark, a developer's machine) as inside it. Left to V8, a machine's memory
        // decides it: in a cgroup of this size 1 MiB semi-spaces, on a 24 GiB machine 64 MiB of young
        // generation (a 400 MiB ceiling for the web), which collects garbage quite differently.
        expect(heapLimitMiB(nodeOptions, false)).toBe(withFlag);
        // The control: left to itself V8 keeps its floor whatever the limit, which for the web leaves less than
        // that (336 − 259 = 77 MiB).
        const alone = heapLimitMiB(undefined);
        expect(alone).toBeGreaterThanOrEqual(256);
        if (name === 'web') expect(limitMiB(deployment) - alone).toBeLessThan(needed);
      } finally {
        cgroup?.remove();
      }
    },
  );
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

  it.each(botContainers)(
    "$role: every variable it sets is a setting of src/config/settings.ts (or Node's NODE_OPTIONS)",
    ({ role }) => {
      const names = deployBundle.envNames(role);
      expect(names.filter((n) => !SETTING_ENVS.includes(n) && n !== 'NODE_OPTIONS')).toEqual([]);
    },
  );

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
    const config = loadConfig(processEnv(web, tmpDir('deploy-web-')));
    expect(config.slack.mode).toBe('http');
    expect(config.github.auth).toEqual({ kind: 'none' });
    expect(config.github.webhookSecret).toBeDefined();
    expect(config.kargo.kubeconfig).toBeUndefined();
    expect(
      config.access.promote.prod.groups.length + config.access.promote.prod.users.length,
    ).toBeGreaterThan(0);
  });

  it('worker: the same plus the GitHub App (ids from its ConfigMap, key from the Secret)', () => {
    const config = loadConfig(processEnv(worker, tmpDir('deploy-worker-')));
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
  it('the web Service sends port 80 to the web pods on PORT (3000), and never to the worker', () => {
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
  const ingressOf = (labels: Record<string, string>) => deployBundle.ingressOf(labels);
  const egressOf = (labels: Record<string, string>) => deployBundle.egressOf(labels);

  it('denies all ingress to the namespace by default', () => {
    const deny = policies.find((p) => Object.keys(p.spec.podSelector.matchLabels ?? {}).length === 0);
    expect(deny).toBeDefined();
    expect(deny!.spec.podSelector.matchExpressions).toBeUndefined();
    expect(deny!.spec.policyTypes).toEqual(['Ingress']);
    expect(deny!.spec.ingress).toBeUndefined();
  });

  it('web: PORT 3000 from the ingress controller namespace, METRICS_PORT 3002 from monitoring, nothing else', () => {
    expect(ingressOf(podLabels(web))).toEqual(['ns:ingress-nginx TCP/3000', 'ns:monitoring TCP/3002']);
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
    expect(matches(policy.spec.podSelector.matchLabels, podLabels(statefulSet))).toBe(true);
    const from = policy.spec.ingress![0]!.from![0]!.podSelector!.matchLabels;
    expect(matches(from, podLabels(web)) && matches(from, podLabels(worker))).toBe(true);
    const service = find<V1Service>('Service', 'redis', optionalObjects);
    expect(service.spec!.ports![0]!.port).toBe(6379);
    expect(matches(service.spec!.selector, podLabels(statefulSet))).toBe(true);
  });
});

// ---- 2. a real kube-apiserver -----------------------------------------------------------------------------

describeWithEnvtest('deploy/ on a real kube-apiserver', (env: () => Envtest) => {
  let admin: ApiServer;
  beforeAll(() => {
    admin = apiServer(env());
  });
  const request: ApiServer['request'] = (...args) => admin.request(...args);
  const objectPath: ApiServer['objectPath'] = (obj) => admin.objectPath(obj);
  const apply: ApiServer['apply'] = (obj, dryRun) => admin.apply(obj, dryRun);

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
      expect(c.ports).toEqual(container(deployment).ports);
      expect(c.resources).toEqual(container(deployment).resources);
      expect(c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value).toMatch(
        /^--max-old-space-size=\d+ --max-semi-space-size=\d+$/,
      );
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
      const res = await request(
        'POST',
        `/api/v1/namespaces/${BOT_NAMESPACE}/pods?dryRun=All&fieldValidation=Strict`,
        podFromTemplate(workload, BOT_NAMESPACE),
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

  const project = envConfigMap.data!.KARGO_PROJECT!;
  const kargo = (verb: string, resource: string, extra: Record<string, string> = {}) => ({
    namespace: project,
    verb,
    group: 'kargo.akuity.io',
    resource,
    ...extra,
  });
  const allowed = (serviceAccount: string, attributes: Record<string, string>) =>
    admin.allowed(BOT_NAMESPACE, serviceAccount, attributes);

  it("RBAC: the worker's ServiceAccount may create Promotions and promote; the web's may do nothing", async () => {
    const promoteProd = kargo('promote', 'stages', { name: envConfigMap.data!.KARGO_STAGE_PROD! });
    const readSecret = { namespace: BOT_NAMESPACE, verb: 'get', resource: 'secrets', name: 'chatops-bot' };
    const workerSa = podSpec(worker).serviceAccountName!;
    const webSa = podSpec(web).serviceAccountName!;
    expect(await allowed(workerSa, kargo('create', 'promotions'))).toBe(true);
    expect(await allowed(workerSa, promoteProd)).toBe(true);
    expect(await allowed(workerSa, readSecret)).toBe(false); // secrets reach pods as env, never through the API
    for (const attributes of [
      kargo('create', 'promotions'),
      kargo('patch', 'promotions'),
      promoteProd,
      kargo('list', 'freights'),
      readSecret,
    ])
      expect({ attributes, allowed: await allowed(webSa, attributes) }).toEqual({
        attributes,
        allowed: false,
      });
  });

  it('RBAC for /cancel: the worker may patch Promotions (abort) and nothing else it could not before', async () => {
    const workerSa = podSpec(worker).serviceAccountName!;
    // Abort = a merge patch of the Promotion plus `promote` on its Stage (Kargo's webhook checks both).
    expect(await allowed(workerSa, kargo('patch', 'promotions'))).toBe(true);
    expect(
      await allowed(workerSa, kargo('promote', 'stages', { name: envConfigMap.data!.KARGO_STAGE_DEV! })),
    ).toBe(true);
    const refused = [
      kargo('update', 'promotions'), // patch only: the bot never replaces a Promotion
      kargo('delete', 'promotions'),
      kargo('deletecollection', 'promotions'),
      kargo('patch', 'promotions', { subresource: 'status' }), // the phase is Kargo's
      kargo('update', 'promotions', { subresource: 'status' }),
      kargo('patch', 'stages'), // no refresh/abort-verification annotations on Stages
      kargo('patch', 'freights'),
      kargo('patch', 'freights', { subresource: 'status' }), // no manual approval
      kargo('patch', 'warehouses'),
      kargo('promote', 'stages', { name: 'staging' }),
      { ...kargo('patch', 'promotions'), namespace: BOT_NAMESPACE }, // only in the project namespace
      { ...kargo('patch', 'promotions'), namespace: 'default' },
    ];
    for (const attributes of refused)
      expect({ attributes, allowed: await allowed(workerSa, attributes) }).toEqual({
        attributes,
        allowed: false,
      });
  });

  it("with the worker's own token: the abort merge patch /cancel sends is accepted; delete and status writes are not", async () => {
    const bot = apiServer(env(), env().botToken);
    const promotion: KubeObject = {
      apiVersion: 'kargo.akuity.io/v1alpha1',
      kind: 'Promotion',
      metadata: { name: `deploy-abort-${process.pid}`, namespace: project },
      spec: {
        stage: envConfigMap.data!.KARGO_STAGE_DEV!,
        freight: 'a'.repeat(40),
        steps: [{ uses: 'http' }],
      },
    };
    const path_ = await admin.objectPath(promotion);
    const created = await request('POST', path_.slice(0, path_.lastIndexOf('/')), promotion);
    expect({ created: created.status < 300 ? 'ok' : describeFailure(created) }).toEqual({ created: 'ok' });
    try {
      const abort = await bot.request(
        'PATCH',
        path_,
        { metadata: { annotations: { 'kargo.akuity.io/abort': 'terminate' } } },
        'application/merge-patch+json',
      );
      expect({ abort: abort.status < 300 ? 'ok' : describeFailure(abort) }).toEqual({ abort: 'ok' });
      const stored = await request('GET', path_);
      expect((stored.body.metadata as { annotations?: Record<string, string> }).annotations).toMatchObject({
        'kargo.akuity.io/abort': 'terminate',
      });
      expect((await bot.request('DELETE', path_)).status).toBe(403);
      const status = await bot.request(
        'PATCH',
        `${path_}/status`,
        { status: { phase: 'Succeeded' } },
        'application/merge-patch+json',
      );
      expect(status.status).toBe(403);
    } finally {
      await request('DELETE', path_);
    }
  });
});

/** A Pod as the controller would make it from a Deployment's or StatefulSet's template. */
function podFromTemplate(workload: V1Deployment | V1StatefulSet, namespace: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${workload.metadata!.name}-`,
      namespace,
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
}
