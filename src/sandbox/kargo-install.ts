// This repository's kargo/ manifests as an installation applies them, for the real Kargo controller (the
// integration suite and the sandbox): only the per-installation edits kargo/README.md documents — the
// repository URL (the Warehouse subscription and the Stages' repoURL var, kept equal), the Stages' ghApi var
// (`https://<host>/api/v3` on GitHub Enterprise Server; a loopback GitHub stand-in here) and the token in
// Secret `github` (kargo/secret.example.yaml). perInstallationEdits() refuses any other difference, so the
// controller always runs what is committed.
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

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface InstallationSettings {
  /** The repository URL: Warehouse subscription and the Stages' var repoURL. */
  repoURL: string;
  /** The Stages' var ghApi. */
  ghApi: string;
  /** The token put into Secret `github`. */
  token: string;
  /** Where kargo/ is. Default: this repository's. */
  manifestsDir?: string;
}

/** The documented edits, as `<Kind>/<name> <path>` of what may differ from the committed manifests. */
const EDITABLE = [
  /^Warehouse\/[^/]+ spec\.subscriptions\.\d+\.git\.repoURL$/,
  /^Stage\/[^/]+ spec\.vars\.\d+\.value \((repoURL|ghApi)\)$/,
  /^Secret\/github stringData\.token$/,
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function differences(a: Json, b: Json, at: string, out: string[], varName?: string): void {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) {
    out.push(at);
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const av = (a as Record<string, Json>)[key] ?? null;
      const bv = (b as Record<string, Json>)[key] ?? null;
      const name = Array.isArray(a) ? ((av as { name?: string } | null)?.name ?? varName) : varName;
      differences(av, bv, at ? `${at}.${key}` : key, out, name);
    }
    return;
  }
  if (a !== b) out.push(varName && /\.vars\.\d+\.value$/.test(at) ? `${at} (${varName})` : at);
}

type Editable = KubernetesObject & {
  spec?: {
    subscriptions?: Array<{ git?: { repoURL?: string } }>;
    vars?: Array<{ name: string; value: string }>;
  };
  stringData?: Record<string, string>;
};

/**
 * kargo/project.yaml, secret.example.yaml, warehouse.yaml and stages.yaml with the documented
 * per-installation edits, and nothing else (any other difference throws).
 */
export function perInstallationEdits(settings: InstallationSettings): KubernetesObject[] {
  const dir = settings.manifestsDir ?? path.join(REPO_ROOT, 'kargo');
  const files = ['project.yaml', 'secret.example.yaml', 'warehouse.yaml', 'stages.yaml'];
  const docs = files.flatMap((f) =>
    YAML.parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8'))
      .map((d) => d.toJS() as KubernetesObject | null)
      .filter((o): o is KubernetesObject => Boolean(o?.kind)),
  );
  const edited = docs.map((doc) => {
    const copy = structuredClone(doc) as Editable;
    if (copy.kind === 'Warehouse') {
      for (const s of copy.spec?.subscriptions ?? []) if (s.git) s.git.repoURL = settings.repoURL;
    }
    if (copy.kind === 'Stage') {
      for (const v of copy.spec?.vars ?? []) {
        if (v.name === 'repoURL') v.value = settings.repoURL;
        if (v.name === 'ghApi') v.value = settings.ghApi;
      }
    }
    if (copy.kind === 'Secret' && copy.metadata?.name === 'github') {
      copy.stringData = { ...copy.stringData, token: settings.token };
    }
    return copy;
  });
  for (const [i, doc] of docs.entries()) {
    const changed: string[] = [];
    differences(doc as unknown as Json, edited[i] as unknown as Json, '', changed);
    const id = `${doc.kind}/${doc.metadata?.name}`;
    const undocumented = changed.filter((p) => !EDITABLE.some((re) => re.test(`${id} ${p}`)));
    if (undocumented.length > 0) throw new Error(`${id}: undocumented edits ${undocumented.join(', ')}`);
  }
  return edited;
}

/**
 * Creates the objects in kargo/README.md's apply order: the Project; once Kargo made its namespace a project
 * namespace (Project Ready), the ProjectConfig; then the token Secret, the Warehouse and the Stages.
 * `beforeProjectObjects` runs once the namespace is ready (e.g. the bot's Role, which lives in it).
 */
export async function applyProjectManifests(
  admin: KubeConfig,
  settings: InstallationSettings,
  options: { timeoutMs?: number; beforeProjectObjects?: () => Promise<void> } = {},
): Promise<KubernetesObject[]> {
  const objects = perInstallationEdits(settings);
  const order = ['Project', 'ProjectConfig', 'Secret', 'Warehouse', 'Stage'];
  objects.sort((a, b) => order.indexOf(a.kind ?? '') - order.indexOf(b.kind ?? ''));
  const api = KubernetesObjectApi.makeApiClient(admin);
  const custom = admin.makeApiClient(CustomObjectsApi);
  let projectReady = false;
  for (const obj of objects) {
    if (obj.kind !== 'Project' && !projectReady) {
      const project = objects.find((o) => o.kind === 'Project')?.metadata?.name ?? '';
      await waitForProjectReady(custom, project, options.timeoutMs ?? 60_000);
      projectReady = true;
      await options.beforeProjectObjects?.();
    }
    await api.create(obj);
  }
  return objects;
}

async function waitForProjectReady(custom: CustomObjectsApi, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const project = (await custom
      .getClusterCustomObject({ group: 'kargo.akuity.io', version: 'v1alpha1', plural: 'projects', name })
      .catch(() => undefined)) as
      { status?: { conditions?: Array<{ type: string; status: string }> } } | undefined;
    if (project?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return;
    if (Date.now() > deadline) {
      throw new Error(
        `Project ${name} not Ready after ${timeoutMs} ms (is the management controller running?)`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
