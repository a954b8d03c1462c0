// The sandbox's Kargo when the pinned tools are installed: the REAL Kargo v1.11.2 control plane instead of the
// simulator (kargo-simulator.ts). A local kube-apiserver + etcd with the vendored CRDs (kargo-cluster.ts),
// Kargo's webhooks server, management controller and controller (kargo-controlplane.ts), a loopback git
// server serving this repository (kargo-git-server.ts), and this repository's kargo/ manifests with only their
// documented per-installation edits (kargo-install.ts): the Warehouse subscribes to the git server, the
// Stages' http steps call the GitHub stand-in, Secret `github` holds the stand-in's PAT. The bot talks to it
// as its own ServiceAccount (deploy/serviceaccount.yaml, deploy/rbac.yaml), as in a cluster.
//
// As in production, the ProjectConfig auto-promotes new Freight to dev: the newest commit touching
// terraform/, policy/ or .github/workflows/ is promoted to dev right after start.
import * as fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CustomObjectsApi,
  KubernetesObjectApi,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import YAML from 'yaml';
import { startLocalCluster, type LocalCluster } from './kargo-cluster.js';
import {
  KARGO_VERSION,
  findKargoTools,
  startKargoControlPlane,
  toolsBinDir,
  type KargoControlPlane,
} from './kargo-controlplane.js';
import { startGitServer, type GitServer } from './kargo-git-server.js';
import { applyProjectManifests } from './kargo-install.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_CRD_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'vendor', 'kargo-crds');
const BOT = { namespace: 'chatops', serviceAccount: 'chatops-bot' };

export interface RealKargoOptions {
  /** The GitHub stand-in's API URL: the Stages' ghApi. */
  githubApiUrl: string;
  /** Token for Secret `github` (a PAT the stand-in accepts). */
  token: string;
  /** Tools directory (tools/install.sh --bin-dir). */
  binDir?: string;
  /** Kargo CRDs. Default ../shared/vendor/kargo-crds. */
  crdDir?: string;
  /** Repository served to the Warehouse. Default this one. */
  repoDir?: string;
  /** Progress lines for a person. */
  notice?: (line: string) => void;
  /** Where a commit's web page is: the git server redirects commit links there (GitServerOptions). */
  commitPage?: (sha: string) => string;
}

export interface RealKargo {
  mode: 'real';
  /** One line for a person: what runs. */
  detail: string;
  /** The Kargo project (namespace). */
  project: string;
  /** A kubeconfig for the bot (its ServiceAccount token), with the project as default namespace. */
  kubeconfigYaml: string;
  cluster: LocalCluster;
  controlPlane: KargoControlPlane;
  git: GitServer;
  stop(): Promise<void>;
}

/** Why the real controller cannot run here (empty when it can), each with how to fix it. */
export function realKargoMissing(binDir = toolsBinDir(), crdDir = DEFAULT_CRD_DIR): string[] {
  const missing = findKargoTools(binDir).missing;
  for (const name of ['etcd', 'kube-apiserver']) {
    if (!binDir || !fs.existsSync(path.join(binDir, name))) {
      missing.push(`${name} (npm run tools:install builds it)`);
    }
  }
  if (!fs.existsSync(crdDir)) missing.push(`the vendored Kargo CRDs (${crdDir})`);
  return missing;
}

function yamlObjects(file: string): KubernetesObject[] {
  return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => Boolean(o?.kind));
}

async function createAll(api: KubernetesObjectApi, objects: KubernetesObject[]): Promise<void> {
  for (const obj of objects) {
    await api.create(obj).catch((err: { code?: number }) => {
      if (err.code !== 409) throw err;
    });
  }
}

export async function startRealKargo(options: RealKargoOptions): Promise<RealKargo> {
  const notice = options.notice ?? (() => undefined);
  const binDir = options.binDir ?? toolsBinDir();
  const crdDir = options.crdDir ?? DEFAULT_CRD_DIR;
  const repoDir = options.repoDir ?? REPO_ROOT;
  const missing = realKargoMissing(binDir, crdDir);
  if (missing.length > 0) throw new Error(`the real Kargo controller needs ${missing.join('; ')}`);

  const stops: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
  };
  try {
    notice('kargo: starting kube-apiserver + etcd, then Kargo’s webhooks server and controllers (~30 s)');
    const [cluster, git] = await Promise.all([
      startLocalCluster({ binDir, crdDir }),
      startGitServer({
        sourceRepo: repoDir,
        ...(options.commitPage ? { commitPage: options.commitPage } : {}),
      }),
    ]);
    stops.push(
      () => cluster.stop(),
      () => git.stop(),
    );
    const controlPlane = await startKargoControlPlane({
      adminKubeConfig: cluster.adminKubeConfig,
      server: cluster.server,
      caPem: cluster.caPem,
      servingCert: cluster.servingCert,
      tools: findKargoTools(binDir),
      tokenSeconds: 7 * 24 * 3600,
    });
    stops.push(() => controlPlane.stop());

    // The bot's identity first (its namespace and ServiceAccount), its Role once the project namespace exists.
    const api = KubernetesObjectApi.makeApiClient(cluster.adminKubeConfig);
    await createAll(api, yamlObjects(path.join(REPO_ROOT, 'deploy', 'serviceaccount.yaml')));
    const applied = await applyProjectManifests(
      cluster.adminKubeConfig,
      { repoURL: git.repoUrl, ghApi: options.githubApiUrl, token: options.token },
      {
        beforeProjectObjects: () => createAll(api, yamlObjects(path.join(REPO_ROOT, 'deploy', 'rbac.yaml'))),
      },
    );
    const project = applied.find((o) => o.kind === 'Project')?.metadata?.name ?? '';
    // Up means there is something to promote: the Warehouse's first discovery (a clone of the git server).
    await waitForFreight(cluster.adminKubeConfig, project, 120_000, () =>
      controlPlane.logTail('controller', 15),
    );
    const token = await cluster.mintToken(BOT.serviceAccount, BOT.namespace);
    const user = `system:serviceaccount:${BOT.namespace}:${BOT.serviceAccount}`;
    return {
      mode: 'real',
      detail:
        `the real Kargo ${KARGO_VERSION} controller, management controller and webhooks server on a local ` +
        `kube-apiserver (${cluster.server}); Warehouse on ${git.repoUrl}`,
      project,
      kubeconfigYaml: cluster.kubeconfigYaml(token, user, project),
      cluster,
      controlPlane,
      git,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForFreight(
  admin: KubeConfig,
  project: string,
  timeoutMs: number,
  log: () => string,
): Promise<void> {
  const custom = admin.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = (await custom
      .listNamespacedCustomObject({
        group: 'kargo.akuity.io',
        version: 'v1alpha1',
        namespace: project,
        plural: 'freights',
      })
      .catch(() => ({ items: [] }))) as { items: unknown[] };
    if (list.items.length > 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `the Warehouse discovered no Freight within ${timeoutMs} ms; Kargo's controller:\n${log()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
