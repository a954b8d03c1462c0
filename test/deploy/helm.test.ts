// The Helm chart in deploy/helm/chatops-bot, rendered by a real Helm (HELM_VERSION in tools/versions.env, built
// by tools/install.sh). Three parts:
//   1. the chart itself: lint --strict, appVersion = package.json's version, every value documented in
//      values.yaml and README.md, the template's list of secret settings = src/config/settings.ts's;
//   2. renders: the default render equals deploy/ in everything that matters (RBAC rules, security contexts,
//      ports, probes, resources, environment, ConfigMaps, NetworkPolicies, PDBs; names too, for the release
//      `chatops-bot`), so the two cannot drift; the promises every form of the bot keeps (./bundle.ts) hold for
//      the defaults and for changed ports and namespaces; toggles do what they say; no Secret is ever rendered;
//   3. a real kube-apiserver (test/support/envtest.ts): every render is server-side applied (dry run, strict
//      field validation), pods from its templates pass Pod Security "restricted", and the chart's Role gives
//      its ServiceAccount exactly the SubjectAccessReview answers deploy/rbac.yaml gives the bot's.
// Without the helm binary this file fails on CI and is skipped, loudly, elsewhere (as the envtest suites are).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type {
  V1ConfigMap,
  V1Deployment,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import YAML from 'yaml';
import { describeWithEnvtest, type Envtest } from '../support/envtest.js';
import { apiServer, describeFailure, type ApiServer } from './apiserver.js';
import {
  Bundle,
  expectHeapFitsLimit,
  expectIngressOnlyWhereIntended,
  expectListensOnAllInterfaces,
  expectMetricsOnlyOnPrivatePorts,
  expectProbes,
  matches,
  podLabels,
  podSpec,
  type KubeObject,
  type NetworkPolicy,
} from './bundle.js';
import {
  SECRET_ENVS,
  SETTING_ENVS,
  deployDir,
  readRepoFile,
  repoRoot,
  yamlDocument,
  yamlDocuments,
} from './helpers.js';

const CHART_DIR = path.join(deployDir, 'helm', 'chatops-bot');
const RELEASE = 'chatops-bot';
const NAMESPACE = 'chatops';

// ---- the helm binary --------------------------------------------------------------------------------------

function findHelm(): { binary: string; missing: string | undefined } {
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
  const binary = path.join(dir, 'helm');
  try {
    fs.accessSync(binary, fs.constants.X_OK);
    return { binary, missing: undefined };
  } catch {
    return {
      binary,
      missing:
        `helm missing (not in ${dir || '<no bin dir>'}): run npm run tools:install or bash tools/install.sh helm ` +
        '(builds it from the Go module proxy) or set GITOPS_TOOLS_BIN',
    };
  }
}

/** `describe` that needs Helm: fails on CI without it, and elsewhere skips with one line saying how to get it. */
function describeWithHelm(name: string, fn: (helm: Helm) => void): void {
  const { binary, missing } = findHelm();
  if (missing) {
    if (process.env.CI) {
      describe(name, () => {
        it('needs the pinned helm binary', () => {
          throw new Error(missing);
        });
      });
      return;
    }
    process.stderr.write(`\n[helm] SKIPPING "${name}": ${missing}\n`);
    describe.skip(name, () => it('needs helm', () => undefined));
    return;
  }
  describe(name, () => fn(new Helm(binary)));
}

class Helm {
  /** Helm's own cache/config/data dirs: a scratch dir, so the test neither reads nor writes ~/.config/helm. */
  private readonly home = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-test-'));

  constructor(readonly binary: string) {}

  run(args: string[]): { status: number; stdout: string; stderr: string } {
    const res = spawnSync(this.binary, args, {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        HOME: this.home,
        HELM_CACHE_HOME: path.join(this.home, 'cache'),
        HELM_CONFIG_HOME: path.join(this.home, 'config'),
        HELM_DATA_HOME: path.join(this.home, 'data'),
      },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
  }

  /** `helm template` with these values (written as a file, so types are exactly as given). */
  render(values: Record<string, unknown> = {}, release = RELEASE, namespace = NAMESPACE): KubeObject[] {
    const res = this.template(values, release, namespace);
    if (res.status !== 0) throw new Error(`helm template failed: ${res.stderr}`);
    const objects: KubeObject[] = [];
    for (const doc of YAML.parseAllDocuments(res.stdout, { uniqueKeys: true })) {
      const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
      if (problems.length > 0) throw new Error(`helm template output: ${problems.join('; ')}`);
      const value = doc.toJS() as KubeObject | null;
      if (value) objects.push(value);
    }
    return objects;
  }

  template(values: Record<string, unknown>, release = RELEASE, namespace = NAMESPACE) {
    const file = path.join(this.home, `values-${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, JSON.stringify(values));
    return this.run(['template', release, CHART_DIR, '--namespace', namespace, '--values', file]);
  }
}

// ---- deploy/, for comparison ------------------------------------------------------------------------------

const secretExample = yamlDocument<V1Secret>('deploy/secret.example.yaml');
const kustomizeFiles = (dir: string) =>
  yamlDocument<{ resources: string[] }>(path.posix.join('deploy', dir, 'kustomization.yaml')).resources.map(
    (r) => path.posix.join('deploy', dir, r),
  );
const deployObjects = kustomizeFiles('').flatMap((f) => yamlDocuments<KubeObject>(f));
const redisObjects = kustomizeFiles('redis').flatMap((f) => yamlDocuments<KubeObject>(f));

/** deploy/'s object names as the chart names them for the release `chatops-bot` (the Namespace is the release's). */
const chartName = (o: KubeObject): string =>
  o.kind === 'Namespace' || o.metadata.name.startsWith('chatops-bot')
    ? o.metadata.name
    : `chatops-bot-${o.metadata.name}`;
const key = (o: KubeObject, rename = false) =>
  `${o.kind} ${o.metadata.namespace ?? '-'}/${rename ? chartName(o) : o.metadata.name}`;

/** Labels Helm adds for its own bookkeeping, and the annotation that rolls pods on a ConfigMap change. */
const HELM_LABELS = [
  'helm.sh/chart',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/managed-by',
];
/** The object without Helm's bookkeeping, so that what is left can be compared with deploy/ as is. */
function withoutHelmBookkeeping<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutHelmBookkeeping) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (HELM_LABELS.includes(k) || k === 'checksum/config') continue;
      out[k] = withoutHelmBookkeeping(v);
    }
    return out as T;
  }
  return value;
}

const tmpDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
const find = <T>(objects: KubeObject[], kind: string, name: string): T => {
  const hit = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!hit) throw new Error(`no ${kind} ${name} among ${objects.map((o) => key(o)).join(', ')}`);
  return hit as unknown as T;
};

describeWithHelm('deploy/helm/chatops-bot', (helm) => {
  const defaults = helm.render();
  const defaultBundle = new Bundle('helm (defaults)', defaults, secretExample);

  // ---- 1. the chart -------------------------------------------------------------------------------------

  describe('the chart', () => {
    const chart = yamlDocument<{ apiVersion: string; name: string; version: string; appVersion: string }>(
      'deploy/helm/chatops-bot/Chart.yaml',
    );

    it("is apiVersion v2 (Helm 3 and 4), named chatops-bot, with package.json's version as appVersion", () => {
      const version = (JSON.parse(readRepoFile('package.json')) as { version: string }).version;
      expect(chart).toMatchObject({ apiVersion: 'v2', name: 'chatops-bot', appVersion: version });
      expect(chart.version).toMatch(/^\d+\.\d+\.\d+$/);
      // The image defaults to that version, the tag deploy/ pins too.
      const image = defaultBundle.container('web').image;
      expect(image).toBe(`ghcr.io/example-org/chatops-bot:${version}`);
    });

    it('is the pinned Helm that renders it', () => {
      const pinned = /^HELM_VERSION=(\S+)$/m.exec(readRepoFile('tools/versions.env'))?.[1];
      expect(pinned).toMatch(/^v[34]\.\d+\.\d+$/);
      const version = helm.run(['version', '--template', '{{ .Version }}']);
      expect(version.stdout.trim()).toBe(pinned);
    });

    it.each([
      ['defaults', {}],
      ['every toggle on', { namespace: { create: true }, redis: { enabled: true } }],
      [
        'every toggle off',
        { networkPolicy: { enabled: false }, rbac: { create: false }, metrics: { podAnnotations: false } },
      ],
    ])('passes helm lint --strict (%s)', (_name, values) => {
      const file = path.join(tmpDir('helm-lint-'), 'values.yaml');
      fs.writeFileSync(file, JSON.stringify(values));
      const res = helm.run(['lint', '--strict', CHART_DIR, '--values', file]);
      expect({ status: res.status, out: res.status === 0 ? '' : res.stdout + res.stderr }).toEqual({
        status: 0,
        out: '',
      });
    });

    // Maps whose keys are the user's (settings, policies, Kubernetes fields), documented as one value.
    const FREE_FORM = new Set([
      'env',
      'workerEnv',
      'configFile',
      'resources',
      'podAnnotations',
      'nodeSelector',
      'affinity',
      'annotations',
    ]);
    const valuesDoc = YAML.parseDocument(readRepoFile('deploy/helm/chatops-bot/values.yaml'));
    const knobs: Array<{ path: string; comment: string }> = [];
    const walk = (map: YAML.YAMLMap, prefix: string) =>
      map.items.forEach((pair, i) => {
        const name = String((pair.key as YAML.Scalar).value);
        const at = prefix ? `${prefix}.${name}` : name;
        if (YAML.isMap(pair.value) && !FREE_FORM.has(name)) return walk(pair.value, at);
        // yaml puts the comment above a map's first key on the map itself.
        const comment =
          (pair.key as YAML.Scalar).commentBefore ?? (i === 0 ? map.commentBefore : undefined) ?? '';
        knobs.push({ path: at, comment });
      });
    walk(valuesDoc.contents as YAML.YAMLMap, '');

    it('documents every value: a `# --` comment above it in values.yaml and a row in README.md', () => {
      expect(knobs.length).toBeGreaterThan(40);
      const readme = readRepoFile('deploy/helm/chatops-bot/README.md');
      for (const knob of knobs) {
        expect({ value: knob.path, commented: /(^|\n)\s*-- \S/.test(knob.comment) }).toEqual({
          value: knob.path,
          commented: true,
        });
        expect({ value: knob.path, inReadme: readme.includes(`| \`${knob.path}\` |`) }).toEqual({
          value: knob.path,
          inReadme: true,
        });
      }
      // And the README documents nothing that is not a value.
      const rows = [...readme.matchAll(/^\| `([a-zA-Z.]+)` \|/gm)].map((m) => m[1]);
      expect(rows.filter((r) => !knobs.some((k) => k.path === r))).toEqual([]);
    });

    it('refuses the secret settings src/config/settings.ts marks secret, no more, no fewer', () => {
      const helpers = readRepoFile('deploy/helm/chatops-bot/templates/_helpers.tpl');
      const list = /define "chatops-bot.secretSettings" -\}\}\s*\n([A-Z_ ]+)\n/
        .exec(helpers)?.[1]
        ?.trim()
        .split(/\s+/);
      expect([...(list ?? [])].sort()).toEqual([...SECRET_ENVS].sort());
      const derived = /define "chatops-bot.derivedSettings" -\}\}\s*\n([A-Z_ ]+)\n/
        .exec(helpers)?.[1]
        ?.trim()
        .split(/\s+/);
      for (const name of derived ?? []) expect(SETTING_ENVS).toContain(name);
      expect(derived).toEqual(
        expect.arrayContaining(['KARGO_PROJECT', 'HOST', 'PORT', 'METRICS_PORT', 'WORKER_PORT']),
      );
    });
  });

  // ---- 2. renders ---------------------------------------------------------------------------------------

  describe('the default render is deploy/', () => {
    it('renders the objects of deploy/ (but the Namespace, which is off by default), under the same names', () => {
      const expected = deployObjects.filter((o) => o.kind !== 'Namespace').map((o) => key(o, true));
      expect(defaults.map((o) => key(o)).sort()).toEqual(expected.sort());
    });

    it('with namespace.create and redis.enabled: deploy/ plus deploy/redis/', () => {
      const full = helm.render({ namespace: { create: true }, redis: { enabled: true } });
      const expected = [...deployObjects, ...redisObjects].map((o) => key(o, true));
      expect(full.map((o) => key(o)).sort()).toEqual(expected.sort());
    });

    // Everything but Redis compares whole, after Helm's bookkeeping labels are taken out: RBAC rules, security
    // contexts, ports, probes, env and envFrom, resources, NODE_OPTIONS, volumes, strategy, PDBs, Service,
    // NetworkPolicies, ServiceAccounts, the namespace's Pod Security labels.
    const full = helm.render({ namespace: { create: true } });
    it.each(deployObjects.map((o) => [key(o), o] as const))('%s: identical', (_key, expected) => {
      const rendered = find<KubeObject>(full, expected.kind, chartName(expected));
      if (expected.kind === 'ConfigMap') {
        // config.yaml compares as YAML (Helm writes it from values with toYaml); the rest key by key.
        const parse = (cm: V1ConfigMap) => ({
          ...cm.data,
          ...(cm.data?.['config.yaml']
            ? { 'config.yaml': YAML.parse(cm.data['config.yaml']) as unknown }
            : {}),
        });
        expect(parse(rendered as unknown as V1ConfigMap)).toEqual(parse(expected as unknown as V1ConfigMap));
        expect(withoutHelmBookkeeping(rendered.metadata)).toEqual(expected.metadata);
        return;
      }
      const renamed = { ...expected, metadata: { ...expected.metadata, name: chartName(expected) } };
      expect(withoutHelmBookkeeping(rendered)).toEqual(renamed);
    });

    it('deploy/redis: the same Redis (AOF, noeviction, maxmemory, security, probes, volume), reachable by the bot only', () => {
      const chart = helm.render({ redis: { enabled: true } });
      const ours = find<V1StatefulSet>(chart, 'StatefulSet', 'chatops-bot-redis');
      const theirs = find<V1StatefulSet>(redisObjects, 'StatefulSet', 'redis');
      const container = (s: V1StatefulSet) => {
        const c = podSpec(s).containers[0]!;
        return {
          ...c,
          env: c.env?.map((e) => ({
            ...e,
            valueFrom: { secretKeyRef: { ...e.valueFrom!.secretKeyRef!, name: 'x' } },
          })),
        };
      };
      expect(container(ours)).toEqual(container(theirs));
      expect({ ...podSpec(ours), containers: [] }).toEqual({ ...podSpec(theirs), containers: [] });
      expect(ours.spec!.volumeClaimTemplates).toEqual(theirs.spec!.volumeClaimTemplates);
      const service = find<V1Service>(chart, 'Service', 'chatops-bot-redis');
      expect(service.spec!.ports).toEqual(find<V1Service>(redisObjects, 'Service', 'redis').spec!.ports);
      expect(matches(service.spec!.selector, podLabels(ours))).toBe(true);
      // The Redis NetworkPolicy lets this release's web and worker pods in, on 6379.
      const policy = find<NetworkPolicy>(chart, 'NetworkPolicy', 'chatops-bot-redis');
      expect(matches(policy.spec.podSelector.matchLabels, podLabels(ours))).toBe(true);
      const from = policy.spec.ingress![0]!.from![0]!.podSelector!.matchLabels;
      const bundle = new Bundle('helm (redis)', chart, secretExample);
      for (const process of ['web', 'worker'] as const)
        expect(matches(from, podLabels(bundle.deployment(process)))).toBe(true);
      expect(policy.spec.ingress![0]!.ports).toEqual([{ protocol: 'TCP', port: 6379 }]);
    });
  });

  describe('the promises of every form of the bot (test/deploy/bundle.ts)', () => {
    const custom = {
      ports: { http: 8080, metrics: 9090, worker: 9091 },
      networkPolicy: { ingressNamespace: 'traefik', monitoringNamespace: 'prometheus' },
    };
    const renders: Array<[string, Bundle, { ingress: string; monitoring: string }]> = [
      ['defaults', defaultBundle, { ingress: 'ingress-nginx', monitoring: 'monitoring' }],
      [
        'other ports and namespaces',
        new Bundle('helm (custom)', helm.render(custom), secretExample),
        { ingress: 'traefik', monitoring: 'prometheus' },
      ],
    ];

    it.each(renders)('%s: HOST is 0.0.0.0 in both containers', (_name, bundle) => {
      expectListensOnAllInterfaces(bundle, tmpDir('helm-host-'));
    });

    it.each(renders)('%s: /metrics is never served on the public port', (_name, bundle) => {
      expectMetricsOnlyOnPrivatePorts(bundle, tmpDir('helm-metrics-'));
    });

    it.each(renders)('%s: only PORT is reachable from the ingress namespace', (_name, bundle, namespaces) => {
      expectIngressOnlyWhereIntended(bundle, tmpDir('helm-ingress-'), namespaces);
    });

    it.each(renders)('%s: probes on the ports that serve them', (_name, bundle) => {
      expectProbes(bundle, tmpDir('helm-probes-'));
    });

    it.each(renders)("%s: V8's heap ceiling fits the memory limit", (_name, bundle) => {
      expectHeapFitsLimit(bundle);
    });

    it.each(renders)(
      '%s: every variable is a setting (or NODE_OPTIONS); secrets only by secretKeyRef',
      (_name, bundle) => {
        for (const process of ['web', 'worker'] as const) {
          expect(
            bundle.envNames(process).filter((n) => !SETTING_ENVS.includes(n) && n !== 'NODE_OPTIONS'),
          ).toEqual([]);
          for (const e of bundle.container(process).env ?? [])
            if (SECRET_ENVS.has(e.name))
              expect(e.valueFrom?.secretKeyRef).toMatchObject({ name: 'chatops-bot', key: e.name });
          for (const cm of bundle.all<V1ConfigMap>('ConfigMap'))
            expect(Object.keys(cm.data ?? {}).filter((k) => SECRET_ENVS.has(k))).toEqual([]);
        }
      },
    );
  });

  describe('values', () => {
    const toggles = [
      {},
      { namespace: { create: true }, redis: { enabled: true } },
      {
        networkPolicy: { enabled: false },
        rbac: { create: false },
        web: { pdb: { enabled: false } },
        worker: { pdb: { enabled: false } },
      },
    ];

    it('never renders a Secret, whatever the toggles; existingSecret renames every reference', () => {
      for (const values of toggles)
        expect(helm.render(values).filter((o) => o.kind === 'Secret')).toEqual([]);
      const renamed = new Bundle(
        'helm (existingSecret)',
        helm.render({ existingSecret: 'bot-credentials' }),
        secretExample,
      );
      const refs = (['web', 'worker'] as const).flatMap((p) =>
        (renamed.container(p).env ?? []).flatMap((e) =>
          e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name] : [],
        ),
      );
      expect(refs.length).toBeGreaterThan(5);
      expect(new Set(refs)).toEqual(new Set(['bot-credentials']));
    });

    it.each([
      ['env', 'SLACK_BOT_TOKEN'],
      ['env', 'REDIS_URL'],
      ['workerEnv', 'GITHUB_APP_PRIVATE_KEY'],
      ['workerEnv', 'GITHUB_TOKEN'],
    ])('refuses a secret setting in %s (%s), naming where it belongs', (map, name) => {
      const res = helm.template({ [map]: { [name]: 'replace-me' } });
      expect(res.status).not.toBe(0);
      expect(res.stderr).toContain(`${map}.${name} is a secret setting: put it in the Secret "chatops-bot"`);
    });

    it.each(['KARGO_PROJECT', 'HOST', 'PORT', 'METRICS_PORT', 'WORKER_PORT', 'CONFIG_FILE'])(
      'refuses %s in env: the chart derives it from other values',
      (name) => {
        const res = helm.template({ env: { [name]: '1' } });
        expect(res.status).not.toBe(0);
        expect(res.stderr).toContain(`env.${name} is set by the chart`);
      },
    );

    it('writes unquoted numbers as integers (Helm reads 45678901 as a float: 4.5678901e+07 would be refused)', () => {
      const cm = find<V1ConfigMap>(
        helm.render({ workerEnv: { GITHUB_APP_ID: 123456, GITHUB_APP_INSTALLATION_ID: 45678901 } }),
        'ConfigMap',
        'chatops-bot-worker-env',
      );
      expect(cm.data).toMatchObject({ GITHUB_APP_ID: '123456', GITHUB_APP_INSTALLATION_ID: '45678901' });
      // null drops a default (GITHUB_TOKEN installs have no App ids).
      const dropped = find<V1ConfigMap>(
        helm.render({ workerEnv: { GITHUB_APP_ID: null, GITHUB_APP_INSTALLATION_ID: null } }),
        'ConfigMap',
        'chatops-bot-worker-env',
      );
      expect(Object.keys(dropped.data ?? {})).toEqual(['AWS_REGION']);
    });

    it('kargo.project and stages move the Role, its promote rule and the settings together', () => {
      const objects = helm.render({ kargo: { project: 'platform', stages: { dev: 'test', prod: 'live' } } });
      const role = find<V1Role>(objects, 'Role', 'chatops-bot');
      expect(role.metadata!.namespace).toBe('platform');
      expect(find<V1RoleBinding>(objects, 'RoleBinding', 'chatops-bot').metadata!.namespace).toBe('platform');
      expect(role.rules!.find((r) => r.verbs.includes('promote'))!.resourceNames).toEqual(['test', 'live']);
      expect(find<V1ConfigMap>(objects, 'ConfigMap', 'chatops-bot-env').data).toMatchObject({
        KARGO_PROJECT: 'platform',
        KARGO_STAGE_DEV: 'test',
        KARGO_STAGE_PROD: 'live',
      });
    });

    it('other release names: every name follows, the RoleBinding binds the worker, releases do not select each other', () => {
      const a = new Bundle('helm (a)', helm.render({}, 'team-a'), secretExample);
      const b = new Bundle('helm (b)', helm.render({}, 'team-b'), secretExample);
      for (const o of a.objects) expect(o.metadata.name).toMatch(/^team-a-chatops-bot(-|$)/);
      const binding = a.all<V1RoleBinding>('RoleBinding')[0]!;
      expect(binding.subjects).toEqual([
        {
          kind: 'ServiceAccount',
          name: podSpec(a.deployment('worker')).serviceAccountName,
          namespace: NAMESPACE,
        },
      ]);
      for (const process of ['web', 'worker'] as const) {
        expect(
          matches(a.deployment(process).spec!.selector.matchLabels, podLabels(b.deployment(process))),
        ).toBe(false);
        const policy = a
          .all<NetworkPolicy>('NetworkPolicy')
          .find((p) => p.metadata.name === `team-a-chatops-bot-${process}`)!;
        expect(matches(policy.spec.podSelector.matchLabels, podLabels(b.deployment(process)))).toBe(false);
      }
      expect(matches(a.all<V1Service>('Service')[0]!.spec!.selector, podLabels(b.deployment('web')))).toBe(
        false,
      );
      expect(
        find<KubeObject>(helm.render({ fullnameOverride: 'bot' }), 'Deployment', 'bot-web'),
      ).toBeDefined();
    });

    it('image: a digest replaces the tag; a tag replaces appVersion', () => {
      const digest = `sha256:${'a'.repeat(64)}`;
      const images = (values: Record<string, unknown>) => {
        const bundle = new Bundle('helm (image)', helm.render(values), secretExample);
        return (['web', 'worker'] as const).map((p) => bundle.container(p).image);
      };
      expect(images({ image: { repository: 'r.example/bot', digest } })).toEqual([
        `r.example/bot@${digest}`,
        `r.example/bot@${digest}`,
      ]);
      expect(images({ image: { tag: '9.9.9' } })).toEqual([
        'ghcr.io/example-org/chatops-bot:9.9.9',
        'ghcr.io/example-org/chatops-bot:9.9.9',
      ]);
    });

    it('toggles: NetworkPolicies, RBAC, PDBs, scrape annotations off; default deny alone', () => {
      const off = helm.render(toggles[2]!);
      expect(
        off.filter((o) => ['NetworkPolicy', 'Role', 'RoleBinding', 'PodDisruptionBudget'].includes(o.kind)),
      ).toEqual([]);
      const noScrape = new Bundle(
        'helm (no scrape)',
        helm.render({ metrics: { podAnnotations: false } }),
        secretExample,
      );
      for (const process of ['web', 'worker'] as const)
        expect(
          Object.keys(noScrape.deployment(process).spec!.template.metadata!.annotations ?? {}).filter((a) =>
            a.startsWith('prometheus.io/'),
          ),
        ).toEqual([]);
      const noDeny = helm.render({ networkPolicy: { defaultDenyIngress: false } });
      expect(
        noDeny
          .filter((o) => o.kind === 'NetworkPolicy')
          .map((o) => o.metadata.name)
          .sort(),
      ).toEqual(['chatops-bot-web', 'chatops-bot-worker']);
    });

    it('a ConfigMap change rolls both Deployments (checksum/config)', () => {
      const checksum = (objects: KubeObject[], process: 'web' | 'worker') =>
        new Bundle('helm', objects, secretExample).deployment(process).spec!.template.metadata!.annotations![
          'checksum/config'
        ];
      const changed = helm.render({ env: { LOG_LEVEL: 'debug' } });
      for (const process of ['web', 'worker'] as const) {
        expect(checksum(defaults, process)).toMatch(/^[a-f0-9]{64}$/);
        expect(checksum(changed, process)).not.toBe(checksum(defaults, process));
      }
    });
  });

  // ---- 3. a real kube-apiserver -------------------------------------------------------------------------

  describeWithEnvtest('renders on a real kube-apiserver', (env: () => Envtest) => {
    let admin: ApiServer;
    beforeAll(() => {
      admin = apiServer(env());
    });

    const renders: Array<[string, Record<string, unknown>]> = [
      ['defaults', {}],
      ['every toggle on', { namespace: { create: true }, redis: { enabled: true } }],
      [
        'other ports, namespaces and names',
        {
          fullnameOverride: 'other',
          ports: { http: 8080, metrics: 9090, worker: 9091 },
          networkPolicy: { ingressNamespace: 'traefik' },
          image: { digest: `sha256:${'b'.repeat(64)}` },
        },
      ],
    ];

    it.each(renders)(
      '%s: every object is accepted (server-side apply, dry run, strict field validation)',
      async (_name, values) => {
        const objects = helm.render(values);
        expect(objects.length).toBeGreaterThan(10);
        for (const obj of objects) {
          const res = await admin.apply(obj, true);
          expect({ object: key(obj), result: res.status < 300 ? 'ok' : describeFailure(res) }).toEqual({
            object: key(obj),
            result: 'ok',
          });
        }
      },
    );

    it('pods from the web, worker and Redis templates pass Pod Security "restricted"', async () => {
      const objects = helm.render({ redis: { enabled: true } });
      const ns = await admin.request('GET', `/api/v1/namespaces/${NAMESPACE}`);
      expect(
        (ns.body.metadata as { labels: Record<string, string> }).labels['pod-security.kubernetes.io/enforce'],
      ).toBe('restricted');
      const workloads = objects.filter(
        (o) => o.kind === 'Deployment' || o.kind === 'StatefulSet',
      ) as unknown as Array<V1Deployment | V1StatefulSet>;
      expect(workloads).toHaveLength(3);
      for (const workload of workloads) {
        const pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            generateName: `${workload.metadata!.name}-`,
            namespace: NAMESPACE,
            labels: podLabels(workload),
          },
          spec: {
            ...podSpec(workload),
            volumes: [
              ...(podSpec(workload).volumes ?? []),
              ...((workload as V1StatefulSet).spec!.volumeClaimTemplates ?? []).map((t) => ({
                name: t.metadata!.name!,
                persistentVolumeClaim: { claimName: `${t.metadata!.name!}-${workload.metadata!.name!}-0` },
              })),
            ],
          },
        };
        const res = await admin.request(
          'POST',
          `/api/v1/namespaces/${NAMESPACE}/pods?dryRun=All&fieldValidation=Strict`,
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
    });

    it("the chart's Role gives its ServiceAccount exactly the answers deploy/rbac.yaml gives the bot's", async () => {
      // Applied for real under another name, next to deploy/rbac.yaml (which envtest installed for chatops-bot).
      const objects = helm.render({ fullnameOverride: 'helm-bot' });
      for (const obj of objects.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding')) {
        const res = await admin.apply(obj, false);
        expect({ object: key(obj), result: res.status < 300 ? 'ok' : describeFailure(res) }).toEqual({
          object: key(obj),
          result: 'ok',
        });
      }
      const project = find<V1Role>(defaults, 'Role', 'chatops-bot').metadata!.namespace!;
      // The authorizer learns of a new Role through its informer, a moment after the write: wait for it.
      const probe = { namespace: project, verb: 'create', group: 'kargo.akuity.io', resource: 'promotions' };
      for (let waited = 0; !(await admin.allowed(NAMESPACE, 'helm-bot', probe)); waited += 100) {
        if (waited > 15_000) throw new Error('the RBAC authorizer never saw the Role helm-bot');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const questions: Array<Record<string, string>> = [];
      for (const namespace of [project, NAMESPACE, 'default'])
        for (const resource of [
          'freights',
          'stages',
          'promotions',
          'warehouses',
          'projectconfigs',
          'promotiontasks',
        ])
          for (const verb of [
            'get',
            'list',
            'watch',
            'create',
            'update',
            'patch',
            'delete',
            'deletecollection',
          ])
            questions.push({ namespace, verb, group: 'kargo.akuity.io', resource });
      for (const name of ['dev', 'prod', 'staging'])
        questions.push({
          namespace: project,
          verb: 'promote',
          group: 'kargo.akuity.io',
          resource: 'stages',
          name,
        });
      for (const subresource of ['status'])
        for (const resource of ['promotions', 'freights', 'stages'])
          questions.push({
            namespace: project,
            verb: 'patch',
            group: 'kargo.akuity.io',
            resource,
            subresource,
          });
      for (const verb of ['get', 'list', 'watch', 'create'])
        for (const resource of ['events', 'secrets', 'pods'])
          questions.push({ namespace: project, verb, group: '', resource });
      let granted = 0;
      for (const q of questions) {
        const fromDeploy = await admin.allowed(NAMESPACE, 'chatops-bot', q);
        const fromChart = await admin.allowed(NAMESPACE, 'helm-bot', q);
        expect({ q, fromChart }).toEqual({ q, fromChart: fromDeploy });
        if (fromDeploy) granted += 1;
      }
      // get/list/watch × 3 resources, create and patch promotions, promote on dev and prod, list/watch events.
      expect(granted).toBe(9 + 2 + 2 + 2);
      // The web's ServiceAccount is bound to nothing in either form.
      expect(
        await admin.allowed(NAMESPACE, 'helm-bot-web', {
          namespace: project,
          verb: 'list',
          group: 'kargo.akuity.io',
          resource: 'freights',
        }),
      ).toBe(false);
    });
  });
});
