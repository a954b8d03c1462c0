// The Kargo stand-in's storage: what etcd plus the generic API server registry do for a real cluster, in
// memory. Every write bumps one global resourceVersion counter and is appended to a bounded history that
// watches replay from (older than the window → 410 Gone). Writes go through the same pipeline whether they
// come over HTTP or from the in-process controller simulator:
//
//   create:  namespace exists → server-managed metadata reset → status dropped (status subresource) → prune
//            → mutating admission → generateName → metadata + schema + CEL validation → validating admission
//            → 409 AlreadyExists → uid/creationTimestamp/generation/resourceVersion → stored, ADDED
//   update:  404 → resourceVersion precondition (409 Conflict) → spec or status kept from the old object
//            (status subresource semantics) → same admission/validation → no-op updates are not written
//            → generation bumped when anything but metadata/status changed → MODIFIED
//   delete:  404 → preconditions → removed, DELETED → dependents (ownerReferences) deleted in the background
//
// Not emulated: finalizers and graceful deletion (deletes are immediate), managedFields / server-side apply,
// RBAC (any authenticated user may do anything), resourceVersionMatch, the watch cache's "too large
// resourceVersion" wait.
import { randomUUID } from 'node:crypto';
import {
  ApiError,
  OBJECT_META_FIELDS,
  alreadyExists,
  badRequest,
  clone,
  conflict,
  deepEqual,
  generateNameSuffix,
  invalid,
  isObject,
  metaTime,
  metadataCauses,
  notFound,
  type JsonObject,
  type StatusCause,
} from './kargo-k8s.js';
import { prune, validateCustomResource, type CrdResource } from './kargo-schema.js';

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  statusSubresource: boolean;
  shortNames: string[];
  /** Field selectors accepted besides metadata.name / metadata.namespace. */
  selectableFields: string[];
  crd?: CrdResource;
}

export const apiVersionOf = (r: ResourceType): string => (r.group ? `${r.group}/${r.version}` : r.version);
export const resourceKey = (r: Pick<ResourceType, 'group' | 'plural'>): string => `${r.group}/${r.plural}`;

export const CORE_RESOURCES: readonly ResourceType[] = [
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    listKind: 'NamespaceList',
    namespaced: false,
    statusSubresource: true,
    shortNames: ['ns'],
    selectableFields: ['status.phase'],
  },
  {
    group: '',
    version: 'v1',
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    listKind: 'EventList',
    namespaced: true,
    statusSubresource: false,
    shortNames: ['ev'],
    selectableFields: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  },
];

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  type: WatchEventType;
  resource: ResourceType;
  object: JsonObject;
  /** The object before a MODIFIED (to turn it into ADDED/DELETED for a selector it enters or leaves). */
  previous?: JsonObject;
  /** Who made the change (the authenticated user name). */
  user: string;
}

/** Who is writing, and how. */
export interface WriteContext {
  user: string;
  /** The Kargo controller (the simulator) rather than a client: Kargo's webhooks treat it differently. */
  controlPlane?: boolean;
  dryRun?: boolean;
  /** `Strict` turns pruned unknown fields into 422; `Ignore`/`Warn` (default) drop them. */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface AdmissionRequest {
  operation: Operation;
  resource: ResourceType;
  subresource?: 'status';
  /** The object being written (mutable in `mutate`). */
  object: JsonObject;
  old?: JsonObject;
  context: WriteContext;
}

/** Kargo's admission webhooks (and the management controller's reactions) plug in here. */
export interface AdmissionPlugin {
  /** Mutating admission; may change `request.object`; throws ApiError to deny. */
  mutate?(request: AdmissionRequest, store: KargoStore): void;
  /** Validating admission, after schema validation; throws ApiError to deny. */
  validate?(request: AdmissionRequest, store: KargoStore): void;
  /** After a successful (non dry-run) write. */
  afterWrite?(request: AdmissionRequest & { stored: JsonObject }, store: KargoStore): void;
}

export interface WriteResult {
  object: JsonObject;
  /** Unknown fields that were dropped, for `Warning` headers. */
  warnings: string[];
}

export interface KargoStoreOptions {
  crds: Map<string, CrdResource>;
  /** How many write events are kept for watches to resume from. Default 10 000. */
  historyLimit?: number;
  now?: () => Date;
}

const SERVER_MANAGED_META = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
  'managedFields',
];

export class KargoStore {
  readonly resources = new Map<string, ResourceType>();
  readonly plugins: AdmissionPlugin[] = [];
  private readonly objects = new Map<string, Map<string, JsonObject>>();
  private history: StoreEvent[] = [];
  private readonly historyLimit: number;
  private rv = 0;
  /** Events with rv ≤ this are no longer in the history. */
  private compactedRv = 0;
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly now: () => Date;

  constructor(options: KargoStoreOptions) {
    this.historyLimit = Math.max(1, options.historyLimit ?? 10_000);
    this.now = options.now ?? (() => new Date());
    for (const r of CORE_RESOURCES) this.register(r);
    for (const crd of options.crds.values()) {
      this.register({
        group: crd.group,
        version: crd.version,
        plural: crd.plural,
        singular: crd.singular,
        kind: crd.kind,
        listKind: crd.listKind,
        namespaced: crd.namespaced,
        statusSubresource: crd.statusSubresource,
        shortNames: crd.shortNames,
        selectableFields: [],
        crd,
      });
    }
  }

  private register(r: ResourceType): void {
    this.resources.set(resourceKey(r), r);
    this.objects.set(resourceKey(r), new Map());
  }

  /** A resource by group and plural; throws a 404 Status for an unknown one. */
  resource(group: string, plural: string): ResourceType {
    const r = this.resources.get(`${group}/${plural}`);
    if (!r) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    return r;
  }

  /** A Kargo resource by plural (`stages`, `freights`, ...). */
  kargo(plural: string): ResourceType {
    return this.resource('kargo.akuity.io', plural);
  }

  get resourceVersion(): number {
    return this.rv;
  }

  get oldestResourceVersion(): number {
    return this.compactedRv;
  }

  // ---- reads -----------------------------------------------------------------------------------------------

  get(r: ResourceType, namespace: string | undefined, name: string): JsonObject | undefined {
    const found = this.objects.get(resourceKey(r))!.get(this.key(r, namespace, name));
    return found && clone(found);
  }

  /** Sorted by namespace, then name (etcd key order). */
  list(r: ResourceType, namespace?: string): JsonObject[] {
    const all = [...this.objects.get(resourceKey(r))!.entries()]
      .filter(([key]) => !namespace || !r.namespaced || key.startsWith(`${namespace}/`))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return all.map(([, v]) => clone(v));
  }

  namespaceExists(name: string): boolean {
    return this.objects.get('/namespaces')!.has(name);
  }

  // ---- history and watches ----------------------------------------------------------------------------------

  /** Events after `rv`, or 'gone' when some of them are no longer retained. */
  eventsSince(rv: number): StoreEvent[] | 'gone' {
    if (rv < this.compactedRv) return 'gone';
    return this.history.filter((e) => e.rv > rv);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops the whole watch history, like an etcd compaction: older resourceVersions now answer 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.compactedRv = dropped[dropped.length - 1]!.rv;
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // a listener's failure is its own business
      }
    }
  }

  // ---- writes ---------------------------------------------------------------------------------------------

  create(r: ResourceType, namespace: string | undefined, body: unknown, ctx: WriteContext): WriteResult {
    const obj = this.checkBody(r, namespace, body);
    const ns = r.namespaced ? namespace : undefined;
    if (ns !== undefined && !this.namespaceExists(ns)) throw notFound('namespaces', '', ns);
    const meta = obj.metadata as JsonObject;
    for (const k of SERVER_MANAGED_META) delete meta[k];
    if (ns !== undefined) meta.namespace = ns;
    else delete meta.namespace;
    if (r.statusSubresource && r.crd) delete obj.status;
    const warnings = this.pruneAndWarn(r, obj, ctx);

    const request: AdmissionRequest = { operation: 'CREATE', resource: r, object: obj, context: ctx };
    for (const p of this.plugins) p.mutate?.(request, this);
    const object = request.object;
    const m = object.metadata as JsonObject;
    if (!m.name && typeof m.generateName === 'string' && m.generateName) {
      for (let i = 0; i < 10; i++) {
        m.name = `${m.generateName}${generateNameSuffix()}`;
        if (!this.objects.get(resourceKey(r))!.has(this.key(r, ns, String(m.name)))) break;
      }
    }
    this.validateObject(r, object);
    for (const p of this.plugins) p.validate?.(request, this);

    const name = String(m.name);
    const table = this.objects.get(resourceKey(r))!;
    if (table.has(this.key(r, ns, name))) throw alreadyExists(r.plural, r.group, name);
    m.uid = randomUUID();
    m.creationTimestamp = metaTime(this.now());
    m.generation = 1;
    if (ctx.dryRun) return { object: clone(object), warnings };
    m.resourceVersion = String(++this.rv);
    table.set(this.key(r, ns, name), clone(object));
    this.record({ rv: this.rv, type: 'ADDED', resource: r, object: clone(object), user: ctx.user });
    for (const p of this.plugins) p.afterWrite?.({ ...request, stored: clone(object) }, this);
    return { object, warnings };
  }

  /** PUT semantics. `subresource: 'status'` writes only the status; otherwise the status is kept. */
  update(
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    ctx: WriteContext,
    options: { subresource?: 'status'; requireResourceVersion?: boolean } = {},
  ): WriteResult {
    const incoming = this.checkBody(r, namespace, body);
    const ns = r.namespaced ? namespace : undefined;
    const old = this.get(r, ns, name);
    if (!old) throw notFound(r.plural, r.group, name);
    const meta = incoming.metadata as JsonObject;
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(
        `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`,
      );
    }
    const oldMeta = old.metadata as JsonObject;
    const precondition = meta.resourceVersion;
    if (precondition === undefined || precondition === '') {
      if (options.requireResourceVersion && r.crd) {
        throw invalid(r.kind, r.group, name, [
          {
            reason: 'FieldValueInvalid',
            field: 'metadata.resourceVersion',
            message: 'Invalid value: 0x0: must be specified for an update',
          },
        ]);
      }
    } else if (String(precondition) !== oldMeta.resourceVersion) {
      throw conflict(r.plural, r.group, name);
    }

    let next: JsonObject;
    if (options.subresource === 'status') {
      next = clone(old);
      if (incoming.status === undefined) delete next.status;
      else next.status = clone(incoming.status);
    } else {
      next = incoming;
      const nm = next.metadata as JsonObject;
      for (const k of SERVER_MANAGED_META) delete nm[k];
      nm.name = name;
      nm.uid = oldMeta.uid;
      nm.creationTimestamp = oldMeta.creationTimestamp;
      nm.generation = oldMeta.generation;
      if (ns !== undefined) nm.namespace = ns;
      else delete nm.namespace;
      delete nm.generateName;
      if (oldMeta.generateName !== undefined) nm.generateName = oldMeta.generateName;
      if (r.statusSubresource && r.crd) {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      }
    }
    const warnings = this.pruneAndWarn(r, next, ctx);
    const request: AdmissionRequest = {
      operation: 'UPDATE',
      resource: r,
      subresource: options.subresource,
      object: next,
      old,
      context: ctx,
    };
    for (const p of this.plugins) p.mutate?.(request, this);
    const object = request.object;
    this.validateObject(r, object);
    for (const p of this.plugins) p.validate?.(request, this);

    const strip = (o: JsonObject) => {
      const c = clone(o);
      const cm = c.metadata as JsonObject;
      delete cm.resourceVersion;
      delete cm.generation;
      return c;
    };
    if (deepEqual(strip(object), strip(old))) return { object: old, warnings };
    const withoutMetaStatus = (o: JsonObject) => {
      const c = { ...o };
      delete c.metadata;
      delete c.status;
      return c;
    };
    const om = object.metadata as JsonObject;
    om.generation =
      Number(oldMeta.generation ?? 1) +
      (deepEqual(withoutMetaStatus(object), withoutMetaStatus(old)) ? 0 : 1);
    if (ctx.dryRun) return { object: clone(object), warnings };
    om.resourceVersion = String(++this.rv);
    this.objects.get(resourceKey(r))!.set(this.key(r, ns, name), clone(object));
    this.record({
      rv: this.rv,
      type: 'MODIFIED',
      resource: r,
      object: clone(object),
      previous: old,
      user: ctx.user,
    });
    for (const p of this.plugins) p.afterWrite?.({ ...request, stored: clone(object) }, this);
    return { object, warnings };
  }

  /**
   * Applies `change` to the current object and writes it (no resourceVersion precondition unless the
   * result carries one that differs) — what PATCH does, and what the simulator uses for status writes.
   */
  modify(
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    change: (current: JsonObject) => JsonObject,
    ctx: WriteContext,
    options: { subresource?: 'status' } = {},
  ): WriteResult {
    const current = this.get(r, namespace, name);
    if (!current) throw notFound(r.plural, r.group, name);
    const next = change(clone(current));
    if (!isObject(next)) throw badRequest('the patched object is not an object');
    if (!isObject(next.metadata)) next.metadata = {};
    const nm = next.metadata as JsonObject;
    if (nm.resourceVersion === undefined || nm.resourceVersion === null) {
      nm.resourceVersion = (current.metadata as JsonObject).resourceVersion;
    }
    if (nm.name === undefined) nm.name = name;
    return this.update(r, namespace, name, next, ctx, options);
  }

  delete(
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    ctx: WriteContext,
    preconditions: { uid?: string; resourceVersion?: string } = {},
  ): JsonObject {
    const ns = r.namespaced ? namespace : undefined;
    const old = this.get(r, ns, name);
    if (!old) throw notFound(r.plural, r.group, name);
    const meta = old.metadata as JsonObject;
    if (preconditions.uid && preconditions.uid !== meta.uid) {
      throw conflict(
        r.plural,
        r.group,
        name,
        `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${String(meta.uid)}`,
      );
    }
    if (preconditions.resourceVersion && preconditions.resourceVersion !== meta.resourceVersion) {
      throw conflict(r.plural, r.group, name);
    }
    const request: AdmissionRequest = { operation: 'DELETE', resource: r, object: old, old, context: ctx };
    for (const p of this.plugins) p.validate?.(request, this);
    if (ctx.dryRun) return old;
    this.objects.get(resourceKey(r))!.delete(this.key(r, ns, name));
    meta.resourceVersion = String(++this.rv);
    this.record({ rv: this.rv, type: 'DELETED', resource: r, object: clone(old), user: ctx.user });
    // Garbage collection: everything the deleted object owned, and everything in a deleted namespace.
    for (const type of this.resources.values()) {
      for (const dependent of this.list(type)) {
        const dm = dependent.metadata as JsonObject;
        const owned =
          Array.isArray(dm.ownerReferences) &&
          dm.ownerReferences.some((o) => isObject(o) && o.uid === meta.uid);
        const inNamespace =
          r.plural === 'namespaces' && r.group === '' && type.namespaced && dm.namespace === name;
        if (owned || inNamespace) {
          try {
            this.delete(type, dm.namespace as string | undefined, String(dm.name), ctx);
          } catch {
            // already gone
          }
        }
      }
    }
    return old;
  }

  // ---- helpers ---------------------------------------------------------------------------------------------

  private key(r: ResourceType, namespace: string | undefined, name: string): string {
    return r.namespaced ? `${namespace ?? ''}/${name}` : name;
  }

  /** Body checks of create/update: an object of this apiVersion/kind, in this namespace. */
  private checkBody(r: ResourceType, namespace: string | undefined, body: unknown): JsonObject {
    if (!isObject(body)) throw badRequest('the body of the request is not a JSON object');
    const obj = clone(body);
    const apiVersion = `${r.group ? `${r.group}/` : ''}${r.version}`;
    if (obj.kind === undefined || obj.kind === '') {
      throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body).slice(0, 200)}'`);
    }
    if (obj.apiVersion !== apiVersion) {
      throw badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`,
      );
    }
    if (obj.kind !== r.kind) {
      throw badRequest(
        `the kind in the data (${String(obj.kind)}) does not match the expected kind (${r.kind})`,
      );
    }
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isObject(obj.metadata)) throw badRequest('metadata must be an object');
    const ns = obj.metadata.namespace;
    if (r.namespaced && ns !== undefined && ns !== '' && ns !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    return obj;
  }

  private pruneAndWarn(r: ResourceType, obj: JsonObject, ctx: WriteContext): string[] {
    const meta = obj.metadata as JsonObject;
    const dropped: string[] = [];
    for (const k of Object.keys(meta)) {
      if (!OBJECT_META_FIELDS.has(k)) {
        delete meta[k];
        dropped.push(`metadata.${k}`);
      }
    }
    if (r.crd) dropped.push(...prune(obj, r.crd.schema));
    if (dropped.length > 0 && ctx.fieldValidation === 'Strict') {
      throw new ApiError(
        400,
        'BadRequest',
        `strict decoding error: ${dropped.map((f) => `unknown field "${f}"`).join(', ')}`,
      );
    }
    return ctx.fieldValidation === 'Ignore' ? [] : dropped.map((f) => `unknown field "${f}"`);
  }

  private validateObject(r: ResourceType, obj: JsonObject): void {
    const meta = obj.metadata as JsonObject;
    const causes: StatusCause[] = metadataCauses(meta, {
      namespaced: r.namespaced,
      nameIsLabel: r.plural === 'namespaces' && r.group === '',
    });
    if (r.crd) causes.push(...validateCustomResource(r.crd, obj));
    if (causes.length > 0)
      throw invalid(r.kind, r.group, String(meta.name ?? meta.generateName ?? ''), causes);
  }
}
