// Kargo 1.11's admission webhooks, and the management controller's reaction to a Project, as the stand-in's
// AdmissionPlugin (kargo-api.md §1, §2.2; vendor/kargo-crds/README.md "webhook-only rules"):
//
// Promotion, create (mutating):
//   - Stage must exist (422 on spec.stage "could not find Stage") and define steps (422 "defines no promotion steps");
//   - spec.origin (no freight) → spec.freight = the Stage's auto-promotion candidate (newest available Freight);
//   - name `<stage>.<ulid>.<freight7>`, spec.steps = the Stage's template steps, spec.vars = stage.spec.vars +
//     promotionTemplate.spec.vars, always (what the caller sent is overwritten, as the real 1.11 webhook does:
//     checked against the real controller in test/integration/kargo-controller.test.ts). `kargo111Rewrites:
//     false` keeps a caller's name and steps instead (≤ 1.10 behaviour);
//   - label + annotation kargo.akuity.io/stage, annotation kargo.akuity.io/create-actor (kubernetes:<user>,
//     not for the control plane), a controller ownerReference to the Stage; the caller's other labels and
//     annotations are kept;
//   - auto-promotion intent, as 1.11 infers it for a person's Promotion to a Stage whose ProjectConfig enables
//     auto-promotion: annotation kargo.akuity.io/auto-promotion-resume = `<kind>/<origin>` when the Freight is
//     the Stage's auto-promotion candidate, kargo.akuity.io/auto-promotion-hold otherwise (caller-set values
//     are stripped first; the control plane's own Promotions get neither);
//   - kargo.akuity.io/abort (create or update): rewritten as JSON naming who asked,
//     `{"action":"terminate","actor":"kubernetes:<user>"}` (`"controlPlane":true` for the control plane).
// Promotion, update (mutating): create-actor and the hold/resume annotations keep their admitted values.
// Promotion, create (validating): Freight must exist and be available to the Stage (422 on spec.freight
//   "Freight is not available to this Stage"); records PromotionCreated for non-controller callers.
// Promotion, update: spec is immutable.
// Freight: name = Freight ID when none is given (always with `recomputeFreightNames`); alias generated when
//   empty and mirrored in label kargo.akuity.io/alias; artifacts and origin immutable; approvedFor additions
//   record FreightApproved.
// Stage: step aliases unique and not reserved; each requestedFreight has direct or upstream stages.
// ProjectConfig: name must equal the namespace.
// Project: creates (or labels) the namespace of the same name (the management controller's job).
import { randomBytes } from 'node:crypto';
import { encodeUlid, promotionName } from '../kargo/promotion-name.js';
import { freightAlias, freightId, isFreightAvailable, newestFirst } from './kargo-freight.js';
import {
  clone,
  deepEqual,
  fieldValue,
  invalid,
  isLabelValue,
  isObject,
  metaTime,
  type JsonObject,
  type ApiError,
  type StatusCause,
} from './kargo-k8s.js';
import type { AdmissionPlugin, AdmissionRequest, KargoStore } from './kargo-store.js';

export const KARGO_GROUP = 'kargo.akuity.io';
export const KARGO_API_VERSION = 'kargo.akuity.io/v1alpha1';
export const LABEL_ALIAS = 'kargo.akuity.io/alias';
export const LABEL_STAGE = 'kargo.akuity.io/stage';
export const LABEL_PROJECT = 'kargo.akuity.io/project';
export const ANNOTATION_CREATE_ACTOR = 'kargo.akuity.io/create-actor';
export const ANNOTATION_ABORT = 'kargo.akuity.io/abort';
export const ANNOTATION_AUTO_PROMOTION_HOLD = 'kargo.akuity.io/auto-promotion-hold';
export const ANNOTATION_AUTO_PROMOTION_RESUME = 'kargo.akuity.io/auto-promotion-resume';
/** The actor Kargo's controller acts as (events of auto-promotions, status changes). */
export const CONTROLLER_ACTOR = 'controller:kargo-controller';

export interface KargoAdmissionOptions {
  /** Overwrite a Promotion's name, steps and vars on create even when given (Kargo 1.11). Default true. */
  kargo111Rewrites?: boolean;
  /** Always set a Freight's name to its ID on create (Kargo's webhook does). Default false: only when unset. */
  recomputeFreightNames?: boolean;
  now?: () => Date;
}

const meta = (o: JsonObject): JsonObject => (isObject(o.metadata) ? o.metadata : (o.metadata = {}));
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Kargo's actor string for an authenticated Kubernetes user. */
export const kubernetesActor = (user: string): string => `kubernetes:${user}`;

function webhookDenied(kind: string, name: string, causes: StatusCause[]): ApiError {
  const err = invalid(kind, KARGO_GROUP, name, causes);
  err.status.message = `admission webhook "${kind.toLowerCase()}.kargo.akuity.io" denied the request: ${err.status.message}`;
  return err;
}

/** Records a core/v1 Event the way Kargo's event sender does (reason = event type, Kargo annotations). */
export function recordKargoEvent(
  store: KargoStore,
  input: {
    namespace: string;
    reason: string;
    message: string;
    involved: JsonObject;
    annotations: Record<string, string>;
    now: Date;
    component?: string;
  },
): void {
  const involvedMeta = meta(input.involved);
  const time = metaTime(input.now);
  const stamp = (BigInt(input.now.getTime()) * 1_000_000n + BigInt(randomBytes(2).readUInt16BE(0))).toString(
    16,
  );
  try {
    store.create(
      store.resource('', 'events'),
      input.namespace,
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: {
          name: `${str(involvedMeta.name)}.${stamp}`,
          namespace: input.namespace,
          annotations: input.annotations,
        },
        involvedObject: {
          apiVersion: str(input.involved.apiVersion) || KARGO_API_VERSION,
          kind: str(input.involved.kind),
          name: str(involvedMeta.name),
          namespace: input.namespace,
          uid: str(involvedMeta.uid),
          resourceVersion: str(involvedMeta.resourceVersion),
        },
        reason: input.reason,
        message: input.message,
        type: 'Normal',
        source: { component: input.component ?? 'promotion-controller' },
        reportingComponent: input.component ?? 'promotion-controller',
        reportingInstance: '',
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      },
      { user: 'system:serviceaccount:kargo:kargo-controller', controlPlane: true },
    );
  } catch {
    // Events are best-effort, as in Kubernetes.
  }
}

/** event.kargo.akuity.io/* annotations describing a Promotion and its Freight. */
export function promotionEventAnnotations(
  project: string,
  promotion: JsonObject,
  freight: JsonObject | undefined,
  actor: string,
): Record<string, string> {
  const pm = meta(promotion);
  const spec = isObject(promotion.spec) ? promotion.spec : {};
  const out: Record<string, string> = {
    'event.kargo.akuity.io/actor': actor,
    'event.kargo.akuity.io/project': project,
    'event.kargo.akuity.io/promotion-name': str(pm.name),
    'event.kargo.akuity.io/promotion-create-time': str(pm.creationTimestamp),
    'event.kargo.akuity.io/stage-name': str(spec.stage),
    'event.kargo.akuity.io/freight-name': str(spec.freight),
  };
  if (freight) Object.assign(out, freightEventAnnotations(freight));
  return out;
}

export function freightEventAnnotations(freight: JsonObject): Record<string, string> {
  const fm = meta(freight);
  const out: Record<string, string> = {
    'event.kargo.akuity.io/freight-name': str(fm.name),
    'event.kargo.akuity.io/freight-create-time': str(freight.discoveredAt) || str(fm.creationTimestamp),
  };
  if (str(freight.alias)) out['event.kargo.akuity.io/freight-alias'] = str(freight.alias);
  if (isObject(freight.origin))
    out['event.kargo.akuity.io/freight-warehouse-name'] = str(freight.origin.name);
  if (Array.isArray(freight.commits) && freight.commits.length > 0) {
    out['event.kargo.akuity.io/freight-commits'] = JSON.stringify(freight.commits);
  }
  return out;
}

/** A label value from a possibly long name, as Kargo shortens the stage label. */
function labelValue(v: string): string {
  if (isLabelValue(v)) return v;
  return v.slice(0, 63).replace(/[^A-Za-z0-9]+$/, '');
}

function steps(stage: JsonObject): unknown[] {
  const spec = isObject(stage.spec) ? stage.spec : {};
  const tmpl = isObject(spec.promotionTemplate) ? spec.promotionTemplate : {};
  const tspec = isObject(tmpl.spec) ? tmpl.spec : {};
  return Array.isArray(tspec.steps) ? tspec.steps : [];
}

function stageVars(stage: JsonObject): unknown[] {
  const spec = isObject(stage.spec) ? stage.spec : {};
  const tmpl = isObject(spec.promotionTemplate) ? spec.promotionTemplate : {};
  const tspec = isObject(tmpl.spec) ? tmpl.spec : {};
  return [...(Array.isArray(spec.vars) ? spec.vars : []), ...(Array.isArray(tspec.vars) ? tspec.vars : [])];
}

/** Kargo's AbortPromotionRequest from the annotation's value: JSON, or a plain action such as `terminate`. */
export function parseAbortRequest(
  value: unknown,
): { action: string; actor?: string; controlPlane?: boolean } | undefined {
  const raw = str(value);
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { action: raw };
  }
  if (!isObject(parsed)) return typeof parsed === 'string' && parsed ? { action: parsed } : undefined;
  const action = str(parsed.action);
  if (!action) return undefined;
  return {
    action,
    ...(str(parsed.actor) ? { actor: str(parsed.actor) } : {}),
    ...(parsed.controlPlane === true ? { controlPlane: true } : {}),
  };
}

/**
 * Whether the project's ProjectConfig enables auto-promotion for a Stage: the first promotion policy whose
 * selector matches decides (stage or stageSelector.name: exact, `glob:` or `regex:`; label selectors are not
 * supported here).
 */
export function stageAutoPromotionEnabled(store: KargoStore, ns: string, stage: string): boolean {
  const config = store.get(store.kargo('projectconfigs'), ns, ns);
  const spec = isObject(config?.spec) ? config.spec : {};
  const policies = Array.isArray(spec.promotionPolicies) ? spec.promotionPolicies : [];
  for (const raw of policies) {
    if (!isObject(raw)) continue;
    const selector = isObject(raw.stageSelector) ? raw.stageSelector : {};
    const name = str(raw.stage) || str(selector.name);
    let match: boolean;
    if (name.startsWith('glob:')) {
      const re = name
        .slice(5)
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.');
      match = new RegExp(`^${re}$`).test(stage);
    } else if (name.startsWith('regex:') || name.startsWith('regexp:')) {
      match = new RegExp(name.slice(name.indexOf(':') + 1)).test(stage);
    } else match = name === stage;
    if (match) return raw.autoPromotionEnabled === true;
  }
  return false;
}

/** The Stage's auto-promotion candidate from `origin`: the newest Freight available to it. */
export function candidateFreight(
  store: KargoStore,
  stage: JsonObject,
  origin: JsonObject,
  now: Date,
): JsonObject | undefined {
  const ns = str(meta(stage).namespace);
  return store
    .list(store.kargo('freights'), ns)
    .filter(
      (f) =>
        isObject(f.origin) &&
        f.origin.name === origin.name &&
        str(f.origin.kind || 'Warehouse') === str(origin.kind || 'Warehouse'),
    )
    .filter((f) => isFreightAvailable(stage, f, now))
    .sort(newestFirst)[0];
}

export function kargoAdmission(options: KargoAdmissionOptions = {}): AdmissionPlugin {
  const now = options.now ?? (() => new Date());
  return {
    mutate(req, store) {
      if (req.resource.group !== KARGO_GROUP) return;
      if (req.resource.plural === 'promotions' && req.operation === 'CREATE') mutatePromotion(req, store);
      if (req.resource.plural === 'promotions' && req.operation === 'UPDATE' && req.subresource !== 'status')
        mutatePromotionUpdate(req);
      if (req.resource.plural === 'freights' && req.subresource !== 'status') mutateFreight(req, store);
    },
    validate(req, store) {
      if (req.resource.group !== KARGO_GROUP) return;
      const name = str(meta(req.object).name);
      switch (req.resource.plural) {
        case 'promotions':
          if (req.operation === 'CREATE') validatePromotionCreate(req, store);
          if (req.operation === 'UPDATE' && !deepEqual(req.object.spec, req.old?.spec)) {
            throw webhookDenied('Promotion', name, [
              {
                reason: 'FieldValueInvalid',
                field: 'spec',
                message: `Invalid value: "object": spec is immutable`,
              },
            ]);
          }
          break;
        case 'freights':
          if (req.operation === 'UPDATE') {
            for (const key of ['origin', 'commits', 'images', 'charts', 'artifacts']) {
              if (!deepEqual(req.object[key], req.old?.[key])) {
                throw webhookDenied('Freight', name, [
                  {
                    reason: 'FieldValueInvalid',
                    field: key,
                    message: `Invalid value: ${fieldValue(req.object[key])}: Freight is immutable`,
                  },
                ]);
              }
            }
          }
          break;
        case 'stages':
          if (req.operation !== 'DELETE') validateStage(req);
          break;
        case 'projectconfigs': {
          const ns = str(meta(req.object).namespace);
          if (req.operation !== 'DELETE' && name !== ns) {
            throw webhookDenied('ProjectConfig', name, [
              {
                reason: 'FieldValueInvalid',
                field: 'metadata.name',
                message: `Invalid value: ${fieldValue(name)}: name of ProjectConfig must be equal to the namespace "${ns}"`,
              },
            ]);
          }
          break;
        }
      }
    },
    afterWrite(req, store) {
      if (req.resource.group !== KARGO_GROUP) return;
      const ns = str(meta(req.stored).namespace);
      if (req.resource.plural === 'projects' && req.operation === 'CREATE')
        ensureProjectNamespace(store, str(meta(req.stored).name));
      if (req.resource.plural === 'promotions' && req.operation === 'CREATE' && !req.context.controlPlane) {
        const spec = isObject(req.stored.spec) ? req.stored.spec : {};
        const freight = store.get(store.kargo('freights'), ns, str(spec.freight));
        const actor = kubernetesActor(req.context.user);
        recordKargoEvent(store, {
          namespace: ns,
          reason: 'PromotionCreated',
          message: `Promotion created for Stage "${str(spec.stage)}" by "${actor}"`,
          involved: req.stored,
          annotations: promotionEventAnnotations(ns, req.stored, freight, actor),
          now: now(),
          component: 'promotion-webhook',
        });
      }
      if (req.resource.plural === 'freights' && req.subresource === 'status' && req.old) {
        const before =
          isObject(req.old.status) && isObject(req.old.status.approvedFor) ? req.old.status.approvedFor : {};
        const after =
          isObject(req.stored.status) && isObject(req.stored.status.approvedFor)
            ? req.stored.status.approvedFor
            : {};
        for (const stage of Object.keys(after)) {
          if (before[stage] !== undefined) continue;
          const actor = req.context.controlPlane ? CONTROLLER_ACTOR : kubernetesActor(req.context.user);
          recordKargoEvent(store, {
            namespace: ns,
            reason: 'FreightApproved',
            message: `Freight approved for Stage "${stage}" by "${actor}"`,
            involved: req.stored,
            annotations: {
              'event.kargo.akuity.io/actor': actor,
              'event.kargo.akuity.io/project': ns,
              'event.kargo.akuity.io/stage-name': stage,
              ...freightEventAnnotations(req.stored),
            },
            now: now(),
            component: 'api',
          });
        }
      }
    },
  };

  function mutatePromotion(req: AdmissionRequest, store: KargoStore): void {
    const promo = req.object;
    const m = meta(promo);
    const ns = str(m.namespace);
    const spec = isObject(promo.spec) ? promo.spec : undefined;
    if (!spec || !str(spec.stage)) return; // the schema reports it
    const stageName = str(spec.stage);
    const stage = store.get(store.kargo('stages'), ns, stageName);
    const name = str(m.name) || str(m.generateName);
    if (!stage) {
      throw webhookDenied('Promotion', name, [
        {
          reason: 'FieldValueNotFound',
          field: 'spec.stage',
          message: `Not found: ${fieldValue(stageName)}: could not find Stage "${stageName}" in namespace "${ns}"`,
        },
      ]);
    }
    const templateSteps = steps(stage);
    if (templateSteps.length === 0) {
      throw webhookDenied('Promotion', name, [
        {
          reason: 'FieldValueInvalid',
          field: 'spec.stage',
          message: `Invalid value: ${fieldValue(stageName)}: Stage "${stageName}" defines no promotion steps`,
        },
      ]);
    }
    if (isObject(spec.origin) && spec.freight === undefined) {
      const candidate = candidateFreight(store, stage, spec.origin, now());
      if (!candidate) {
        throw webhookDenied('Promotion', name, [
          {
            reason: 'FieldValueInvalid',
            field: 'spec.origin',
            message: `Invalid value: "object": no Freight from ${str(spec.origin.kind)} "${str(spec.origin.name)}" is available to Stage "${stageName}"`,
          },
        ]);
      }
      spec.freight = meta(candidate).name;
      delete spec.origin;
    }
    const rewrite = options.kargo111Rewrites !== false;
    if (rewrite || !Array.isArray(spec.steps) || spec.steps.length === 0) {
      spec.steps = clone(templateSteps);
      if (rewrite || spec.vars === undefined) {
        const vars = stageVars(stage);
        if (vars.length > 0) spec.vars = clone(vars);
        else delete spec.vars;
      }
    }
    if ((rewrite || !str(m.name)) && str(spec.freight)) {
      m.name = promotionName(
        stageName,
        encodeUlid(now().getTime(), randomBytes(10)).toLowerCase(),
        str(spec.freight),
      );
    }
    const labels = isObject(m.labels) ? m.labels : (m.labels = {});
    labels[LABEL_STAGE] = labelValue(stageName);
    const annotations = isObject(m.annotations) ? m.annotations : (m.annotations = {});
    annotations[LABEL_STAGE] = stageName;
    if (!req.context.controlPlane) annotations[ANNOTATION_CREATE_ACTOR] = kubernetesActor(req.context.user);
    setAbortActor(req, undefined, promo);
    syncHoldAnnotations(req, store, promo, stage);
    const sm = meta(stage);
    const owners = (Array.isArray(m.ownerReferences) ? m.ownerReferences : []).filter(
      (o) => !(isObject(o) && o.controller === true),
    );
    owners.push({
      apiVersion: KARGO_API_VERSION,
      kind: 'Stage',
      name: stageName,
      uid: sm.uid,
      controller: true,
      blockOwnerDeletion: true,
    });
    m.ownerReferences = owners;
  }

  /** A person's manual promotion says whether it holds or resumes auto-promotion (Kargo 1.11, #6417). */
  function syncHoldAnnotations(
    req: AdmissionRequest,
    store: KargoStore,
    promo: JsonObject,
    stage: JsonObject,
  ): void {
    const annotations = meta(promo).annotations as JsonObject;
    if (req.context.controlPlane) {
      const actor = str(annotations[ANNOTATION_CREATE_ACTOR]);
      if (!actor || actor.startsWith('controller:')) return;
    }
    delete annotations[ANNOTATION_AUTO_PROMOTION_HOLD];
    delete annotations[ANNOTATION_AUTO_PROMOTION_RESUME];
    const ns = str(meta(promo).namespace);
    const spec = isObject(promo.spec) ? promo.spec : {};
    if (!str(spec.freight) || !stageAutoPromotionEnabled(store, ns, str(meta(stage).name))) return;
    const freight = store.get(store.kargo('freights'), ns, str(spec.freight));
    if (!freight || !isObject(freight.origin)) return;
    const origin = freight.origin;
    const key = `${str(origin.kind) || 'Warehouse'}/${str(origin.name)}`;
    const candidate = candidateFreight(store, stage, origin, now());
    if (candidate && str(meta(candidate).name) === str(spec.freight))
      annotations[ANNOTATION_AUTO_PROMOTION_RESUME] = key;
    else annotations[ANNOTATION_AUTO_PROMOTION_HOLD] = key;
  }

  function mutatePromotionUpdate(req: AdmissionRequest): void {
    const promo = req.object;
    const m = meta(promo);
    const annotations = isObject(m.annotations) ? m.annotations : (m.annotations = {});
    const before =
      req.old && isObject(meta(req.old).annotations) ? (meta(req.old).annotations as JsonObject) : {};
    for (const key of [
      ANNOTATION_CREATE_ACTOR,
      ANNOTATION_AUTO_PROMOTION_HOLD,
      ANNOTATION_AUTO_PROMOTION_RESUME,
    ]) {
      if (key in before) annotations[key] = before[key];
      else delete annotations[key];
    }
    setAbortActor(req, req.old, promo);
  }

  /** Enriches a new or changed abort request with who made it, as Kargo's webhook does. */
  function setAbortActor(req: AdmissionRequest, old: JsonObject | undefined, promo: JsonObject): void {
    const annotations = meta(promo).annotations as JsonObject;
    const abort = parseAbortRequest(annotations[ANNOTATION_ABORT]);
    if (!abort) return;
    const previous = old
      ? parseAbortRequest((meta(old).annotations as JsonObject | undefined)?.[ANNOTATION_ABORT])
      : undefined;
    if (
      previous &&
      previous.action === abort.action &&
      previous.actor === abort.actor &&
      previous.controlPlane === abort.controlPlane
    )
      return;
    const controlPlane = req.context.controlPlane === true;
    const actor = controlPlane ? abort.actor : kubernetesActor(req.context.user);
    annotations[ANNOTATION_ABORT] = JSON.stringify({
      action: abort.action,
      ...(actor ? { actor } : {}),
      ...(controlPlane ? { controlPlane: true } : {}),
    });
  }

  function validatePromotionCreate(req: AdmissionRequest, store: KargoStore): void {
    const promo = req.object;
    const m = meta(promo);
    const ns = str(m.namespace);
    const spec = isObject(promo.spec) ? promo.spec : {};
    const stage = store.get(store.kargo('stages'), ns, str(spec.stage));
    if (!stage) return;
    const freightName = str(spec.freight);
    const freight = freightName ? store.get(store.kargo('freights'), ns, freightName) : undefined;
    if (!freight || !isFreightAvailable(stage, freight, now())) {
      throw webhookDenied('Promotion', str(m.name), [
        {
          reason: 'FieldValueInvalid',
          field: 'spec.freight',
          message: `Invalid value: ${fieldValue(freightName)}: Freight is not available to this Stage`,
        },
      ]);
    }
  }

  function mutateFreight(req: AdmissionRequest, store: KargoStore): void {
    const freight = req.object;
    const m = meta(freight);
    const ns = str(m.namespace);
    if (req.operation === 'CREATE') {
      if (options.recomputeFreightNames || !str(m.name)) m.name = freightId(freight);
      if (!str(freight.alias)) {
        const taken = new Set(store.list(store.kargo('freights'), ns).map((f) => str(f.alias)));
        let attempt = 0;
        let alias = freightAlias(str(m.name));
        while (taken.has(alias) && attempt < 100) alias = freightAlias(str(m.name), ++attempt);
        freight.alias = alias;
      }
    }
    if (req.operation === 'CREATE' || req.operation === 'UPDATE') {
      const labels = isObject(m.labels) ? m.labels : (m.labels = {});
      if (str(freight.alias)) labels[LABEL_ALIAS] = str(freight.alias);
      else delete labels[LABEL_ALIAS];
    }
  }

  function validateStage(req: AdmissionRequest): void {
    const stage = req.object;
    const name = str(meta(stage).name);
    const causes: StatusCause[] = [];
    const seen = new Set<string>();
    steps(stage).forEach((step, i) => {
      const as = isObject(step) ? str(step.as) : '';
      if (!as) return;
      const field = `spec.promotionTemplate.spec.steps[${i}].as`;
      if (/^(step|task)-\d+$/.test(as)) {
        causes.push({
          reason: 'FieldValueInvalid',
          field,
          message: `Invalid value: ${fieldValue(as)}: step alias is reserved`,
        });
      }
      if (seen.has(as)) {
        causes.push({
          reason: 'FieldValueInvalid',
          field,
          message: `Invalid value: ${fieldValue(as)}: step alias duplicates that of a previous step`,
        });
      }
      seen.add(as);
    });
    const spec = isObject(stage.spec) ? stage.spec : {};
    (Array.isArray(spec.requestedFreight) ? spec.requestedFreight : []).forEach((reqFreight, i) => {
      const sources = isObject(reqFreight) && isObject(reqFreight.sources) ? reqFreight.sources : {};
      const upstream = Array.isArray(sources.stages) ? sources.stages : [];
      if (sources.direct !== true && upstream.length === 0) {
        causes.push({
          reason: 'FieldValueInvalid',
          field: `spec.requestedFreight[${i}].sources`,
          message:
            'Invalid value: "object": Freight must be requested directly from its origin or from at least one upstream Stage',
        });
      }
    });
    if (causes.length > 0) throw webhookDenied('Stage', name, causes);
  }
}

/** The management controller's part: the Project's namespace exists and is labelled as a project. */
export function ensureProjectNamespace(store: KargoStore, name: string): void {
  const namespaces = store.resource('', 'namespaces');
  const ctx = { user: 'system:serviceaccount:kargo:kargo-management-controller', controlPlane: true };
  const existing = store.get(namespaces, undefined, name);
  if (!existing) {
    store.create(
      namespaces,
      undefined,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [LABEL_PROJECT]: 'true' } } },
      ctx,
    );
    return;
  }
  const labels = isObject(meta(existing).labels) ? (meta(existing).labels as JsonObject) : {};
  if (labels[LABEL_PROJECT] === 'true') return;
  store.modify(
    namespaces,
    undefined,
    name,
    (ns) => {
      const nm = meta(ns);
      nm.labels = { ...(isObject(nm.labels) ? nm.labels : {}), [LABEL_PROJECT]: 'true' };
      return ns;
    },
    ctx,
  );
}
