// The real Kargo v1.11.2 control plane for integration tests: on top of envtest (a real kube-apiserver +
// etcd with Kargo's CRDs and the bot's ServiceAccount), the `kargo-controlplane` processes — the Kubernetes
// webhooks server (TLS on loopback with the envtest CA, the chart's webhook configurations pointed at it),
// the management controller and the controller — plus a loopback smart-HTTP git server (git http-backend)
// serving a bare clone of this repository for the Warehouse. Started once per test file
// (describeWithKargo → beforeAll); see src/sandbox/kargo-controlplane.ts for how each process runs.
//
// This repository's own kargo/ manifests are applied with only the per-installation edits kargo/README.md
// documents (src/sandbox/kargo-install.ts refuses any other): the repository URL (the loopback git server),
// the Stages' ghApi var (the GitHub stand-in on 127.0.0.1) and the token in Secret `github`.
import * as fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import YAML from 'yaml';
import {
  applyProjectManifests as applyManifests,
  type InstallationSettings,
} from '../../src/sandbox/kargo-install.js';
import {
  findKargoTools,
  startKargoControlPlane,
  type KargoControlPlane,
  type KargoTools,
} from '../../src/sandbox/kargo-controlplane.js';
import { startGitServer, type GitServer } from '../../src/sandbox/kargo-git-server.js';
import { PROJECT_NAMESPACE, findBinaries, repoRoot, startEnvtest, type Envtest } from './envtest.js';

export const KARGO_GROUP = 'kargo.akuity.io';
export const KARGO_API_VERSION = 'v1alpha1';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Kargo's includePaths of kargo/warehouse.yaml, for computing which commit is the expected Freight. */
export function warehouseIncludePaths(): string[] {
  const warehouse = YAML.parse(fs.readFileSync(path.join(repoRoot, 'kargo', 'warehouse.yaml'), 'utf8')) as {
    spec: { subscriptions: Array<{ git?: { includePaths?: string[] } }> };
  };
  return warehouse.spec.subscriptions[0]?.git?.includePaths ?? [];
}

export interface KargoEnv {
  envtest: Envtest;
  kargo: KargoControlPlane;
  git: GitServer;
  /** Kargo API (kargo.akuity.io/v1alpha1) with the admin credentials. */
  admin: CustomObjectsApi;
  /** A Kargo resource of the project namespace, for CustomObjectsApi calls. */
  resource(plural: string): { group: string; version: string; namespace: string; plural: string };
  /** Lists a Kargo kind in the project namespace. */
  list<T = KargoObject>(plural: string): Promise<T[]>;
  get<T = KargoObject>(plural: string, name: string): Promise<T | undefined>;
  /** Sets kargo.akuity.io/refresh on an object, as Kargo's UI/CLI or a webhook receiver does. */
  refresh(plural: string, name: string): Promise<void>;
}

export interface KargoObject {
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ kind: string; name: string }>;
    creationTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * `describe` with a real Kargo control plane and a loopback git server on envtest, all started once for the
 * whole block. Without kube-apiserver/etcd or the Kargo tools: fails on CI, and elsewhere skips the block with
 * one loud line on stderr saying what is missing and how to get it (as describeWithEnvtest does).
 *
 * Teardown runs after the block's own afterAll hooks (the tests' bot stops first, then Kargo, then the API
 * server): the block is nested in an outer describe that owns the processes.
 */
export function describeWithKargo(
  name: string,
  fn: (env: () => KargoEnv) => void,
  startupTimeoutMs = 240_000,
): void {
  const binaries = findBinaries();
  const tools: KargoTools = findKargoTools(binaries.dir);
  const missing = [
    ...binaries.missing.map((b) => `${b} (npm run tools:install builds it, or set GITOPS_TOOLS_BIN)`),
    ...tools.missing,
  ];
  if (missing.length > 0) {
    const why = `the real Kargo control plane needs ${missing.join('; ')}`;
    if (process.env.CI) {
      describe(name, () => {
        it('needs the real Kargo control plane (kube-apiserver, etcd, kargo-controlplane, git http-backend)', () => {
          throw new Error(why);
        });
      });
      return;
    }
    process.stderr.write(`\n[kargo] SKIPPING "${name}": ${why}\n`);
    describe.skip(name, () =>
      fn(() => {
        throw new Error('Kargo control plane not started');
      }),
    );
    return;
  }
  describe('real Kargo control plane on envtest', () => {
    let envtestRunning: Envtest | undefined;
    let kargo: KargoControlPlane | undefined;
    let git: GitServer | undefined;
    beforeAll(async () => {
      const gitStarting = startGitServer({ sourceRepo: repoRoot });
      try {
        envtestRunning = await startEnvtest({ binaries });
        kargo = await startKargoControlPlane({
          adminKubeConfig: envtestRunning.adminKubeConfig,
          server: envtestRunning.server,
          caPem: envtestRunning.caPem,
          servingCert: envtestRunning.servingCert,
          tools,
        });
      } finally {
        git = await gitStarting;
      }
    }, startupTimeoutMs);
    afterAll(async () => {
      await kargo?.stop();
      await git?.stop();
      await envtestRunning?.stop();
    }, 60_000);
    const envtest = (): Envtest => {
      if (!envtestRunning) throw new Error('envtest did not start (see the beforeAll error)');
      return envtestRunning;
    };
    describe(name, () =>
      fn(() => {
        const env = envtest();
        if (!kargo || !git)
          throw new Error('the Kargo control plane did not start (see the beforeAll error)');
        const admin = env.adminKubeConfig.makeApiClient(CustomObjectsApi);
        const resource = (plural: string) => ({
          group: KARGO_GROUP,
          version: KARGO_API_VERSION,
          namespace: PROJECT_NAMESPACE,
          plural,
        });
        return {
          envtest: env,
          kargo,
          git,
          admin,
          resource,
          list: async <T>(plural: string) =>
            ((await admin.listNamespacedCustomObject(resource(plural))) as { items: T[] }).items,
          get: async <T>(plural: string, objectName: string) =>
            (admin.getNamespacedCustomObject({ ...resource(plural), name: objectName }) as Promise<T>).catch(
              (err: { code?: number }) => {
                if (err.code === 404) return undefined;
                throw err;
              },
            ),
          refresh: async (plural: string, objectName: string) => {
            await admin.patchNamespacedCustomObject(
              {
                ...resource(plural),
                name: objectName,
                body: { metadata: { annotations: { 'kargo.akuity.io/refresh': new Date().toISOString() } } },
              },
              mergePatch,
            );
          },
        };
      }),
    );
  });
}

// ── this repository's kargo/ manifests, with the documented per-installation edits ─────────────────

/**
 * kargo/README.md's apply order with only the documented per-installation edits (src/sandbox/kargo-install.ts
 * refuses any other difference). Creates only: the suite starts from an empty project.
 */
export async function applyProjectManifests(env: KargoEnv, settings: InstallationSettings): Promise<void> {
  await applyManifests(env.envtest.adminKubeConfig, settings);
}

/** Polls `probe` until it returns something other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  onTimeout?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}` +
          (onTimeout ? `\n${onTimeout()}` : ''),
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
