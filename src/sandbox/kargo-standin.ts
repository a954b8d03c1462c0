// A local stand-in for the Kubernetes API server in front of Kargo, for the sandbox (`npm run sandbox`) and
// tests: plain HTTP on 127.0.0.1 (random port), bearer-token authentication, and the REST + watch protocol
// for Kargo's resources, so the bot's real Kargo adapter (src/kargo/client.ts, @kubernetes/client-node)
// runs against it unchanged through a kubeconfig (`kubeConfig()` / `kubeconfigYaml()`).
//
// Served (see kargo-store.ts for the write semantics, kargo-admission.ts for Kargo's webhooks):
//   GET  /version /api /api/v1 /apis /apis/kargo.akuity.io /apis/kargo.akuity.io/v1alpha1 /healthz /readyz /livez
//   /apis/kargo.akuity.io/v1alpha1/namespaces/{ns}/{freights|stages|warehouses|promotions|projectconfigs|promotiontasks}[/{name}[/status]]
//   /apis/kargo.akuity.io/v1alpha1/{projects|clusterpromotiontasks}[/{name}[/status]]
//   /apis/kargo.akuity.io/v1alpha1/{plural}          (namespaced kinds: list/watch across namespaces)
//   /api/v1/namespaces[/{name}], /api/v1/namespaces/{ns}/events[/{name}], /api/v1/events
// Verbs: get, list (labelSelector: =, ==, !=, in, notin, exists, !exists; fieldSelector: metadata.name,
//   metadata.namespace (+ Event fields); limit/continue over a consistent snapshot), watch (see below),
//   create (generateName, dryRun=All, fieldValidation), update (PUT; resourceVersion precondition),
//   patch (application/merge-patch+json, application/json-patch+json; strategic merge only for core kinds,
//   415 for custom resources like the real server; no server-side apply), delete (preconditions).
// Watch: `?watch=true` (or the list path), `resourceVersion` (unset/"0" = synthetic ADDED for what exists,
//   then changes; N = every change after N; older than the retained history → HTTP 200 with one ERROR event
//   carrying a 410 Expired Status, then the stream ends), `allowWatchBookmarks` (BOOKMARK every
//   `bookmarkIntervalMs` and just before the server-side timeout), `timeoutSeconds` (default 30–60 min),
//   `sendInitialEvents`; chunked JSON lines `{"type":…,"object":…}`; objects entering/leaving a selector
//   arrive as ADDED/DELETED.
// Errors are metav1.Status objects: 401 Unauthorized, 404 NotFound, 409 AlreadyExists/Conflict,
//   422 Invalid (schema, CEL, webhooks), 400 BadRequest, 405 MethodNotAllowed, 410 Expired, 415.
// No RBAC: every request with a known token is allowed (the real Role is tested against envtest).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import { kargoAdmission, type KargoAdmissionOptions } from './kargo-admission.js';
import {
  ApiError,
  badRequest,
  gone,
  isObject,
  jsonPatch,
  matchesFields,
  matchesLabels,
  mergePatch,
  parseFieldSelector,
  parseLabelSelector,
  unauthorized,
  type FieldRequirement,
  type JsonObject,
  type LabelRequirement,
} from './kargo-k8s.js';
import { defaultCrdDir, loadKargoCrds } from './kargo-schema.js';
import {
  KargoStore,
  apiVersionOf,
  type ResourceType,
  type StoreEvent,
  type WriteContext,
} from './kargo-store.js';

export interface KargoStandInLogger {
  debug?(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface KargoStandInOptions {
  /** Port on 127.0.0.1; default 0 (random). */
  port?: number;
  /**
   * Accepted bearer tokens → the user name each authenticates as. Default: one random token for
   * `system:serviceaccount:chatops:chatops-bot` (the bot's ServiceAccount in deploy/).
   */
  tokens?: Record<string, string>;
  /** The vendored Kargo CRDs. Default $KARGO_CRD_DIR, else ../shared/vendor/kargo-crds next to the repo. */
  crdDir?: string;
  /** Write events kept for watches to resume from; older resourceVersions answer 410. Default 10 000. */
  historyLimit?: number;
  /** BOOKMARK interval for watches that allow them. Default 60 000 ms (the API server sends about one a minute). */
  bookmarkIntervalMs?: number;
  /** Kargo webhook behaviour (kargo-admission.ts). */
  admission?: KargoAdmissionOptions;
  logger?: KargoStandInLogger;
  now?: () => Date;
}

export const DEFAULT_BOT_USER = 'system:serviceaccount:chatops:chatops-bot';
const KARGO_GROUP = 'kargo.akuity.io';
const MAX_BODY = 3 * 1024 * 1024;
const KUBE_VERSION = { major: '1', minor: '35', gitVersion: 'v1.35.0+kargo-standin' };

interface Route {
  resource: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: 'status';
}

interface OpenWatch {
  response: ServerResponse;
  close(): void;
}

export class KargoStandIn {
  readonly store: KargoStore;
  private readonly tokens: Map<string, string>;
  private readonly server: Server;
  private readonly options: KargoStandInOptions;
  private readonly watches = new Set<OpenWatch>();
  private readonly sockets = new Set<Socket>();
  private readonly snapshots = new Map<string, { rv: number; items: JsonObject[] }>();
  private baseUrl = '';

  private constructor(options: KargoStandInOptions) {
    this.options = options;
    const crds = loadKargoCrds(options.crdDir ?? defaultCrdDir());
    this.store = new KargoStore({ crds, historyLimit: options.historyLimit, now: options.now });
    this.store.plugins.push(kargoAdmission({ now: options.now, ...options.admission }));
    this.tokens = new Map(
      Object.entries(
        options.tokens ?? { [`kargo-standin-${randomBytes(16).toString('hex')}`]: DEFAULT_BOT_USER },
      ),
    );
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.options.logger?.warn({ err }, 'kargo stand-in: request failed');
        if (!res.headersSent)
          this.sendStatus(res, new ApiError(500, 'InternalError', `Internal error occurred: ${String(err)}`));
        else res.destroy();
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts the stand-in on 127.0.0.1. */
  static async start(options: KargoStandInOptions = {}): Promise<KargoStandIn> {
    const standIn = new KargoStandIn(options);
    await new Promise<void>((resolve, reject) => {
      standIn.server.once('error', reject);
      standIn.server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const { port } = standIn.server.address() as AddressInfo;
    standIn.baseUrl = `http://127.0.0.1:${port}`;
    return standIn;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return this.baseUrl;
  }

  /** The first configured token (the default user's). */
  get token(): string {
    return [...this.tokens.keys()][0]!;
  }

  /** A kubeconfig (YAML) for this stand-in; `namespace` becomes the context's default namespace. */
  kubeconfigYaml(options: { token?: string; namespace?: string } = {}): string {
    const token = options.token ?? this.token;
    const user = this.tokens.get(token) ?? 'unknown';
    return YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'kargo-standin', cluster: { server: this.baseUrl, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: user, user: { token } }],
      contexts: [
        {
          name: 'kargo-standin',
          context: {
            cluster: 'kargo-standin',
            user,
            ...(options.namespace ? { namespace: options.namespace } : {}),
          },
        },
      ],
      'current-context': 'kargo-standin',
      preferences: {},
    });
  }

  /** A @kubernetes/client-node KubeConfig for this stand-in. */
  kubeConfig(options: { token?: string; namespace?: string } = {}): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kubeconfigYaml(options));
    return kc;
  }

  /** Writes the kubeconfig to `file` (mode 0600) and returns the path. */
  writeKubeconfig(file: string, options: { token?: string; namespace?: string } = {}): string {
    writeFileSync(file, this.kubeconfigYaml(options), { mode: 0o600 });
    return file;
  }

  /** Adds a token (e.g. a second user) at run time. */
  addToken(token: string, user: string): void {
    this.tokens.set(token, user);
  }

  async stop(): Promise<void> {
    for (const w of [...this.watches]) w.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  // ---- request handling -----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = (req.method ?? 'GET').toUpperCase();
    this.options.logger?.debug?.(
      { method, path: url.pathname, query: url.search },
      'kargo stand-in: request',
    );

    if (['/healthz', '/readyz', '/livez'].includes(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return;
    }
    const auth = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    const user = auth ? this.tokens.get(auth[1]!.trim()) : undefined;
    if (!user) {
      this.sendStatus(res, unauthorized());
      return;
    }
    try {
      const discovery = this.discovery(path);
      if (discovery) {
        if (method !== 'GET') throw methodNotAllowed();
        this.sendJson(res, 200, discovery);
        return;
      }
      const route = this.route(path);
      await this.serve(route, method, url.searchParams, req, res, user);
    } catch (err) {
      if (err instanceof ApiError) this.sendStatus(res, err);
      else throw err;
    }
  }

  private route(path: string): Route {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    let rest: string[];
    let group: string;
    if (parts[0] === 'api' && parts[1] === 'v1') {
      group = '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts[1] === KARGO_GROUP && parts[2] === 'v1alpha1') {
      group = KARGO_GROUP;
      rest = parts.slice(3);
    } else {
      throw pathNotFound();
    }
    // Namespaced path: namespaces/{ns}/{plural}[/{name}[/status]]; `namespaces[/{name}]` is the Namespace kind.
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const resource = this.resourceOrNotFound(group, rest[2]!);
      if (!resource.namespaced) throw pathNotFound();
      return this.withName(resource, rest[1], rest.slice(3));
    }
    if (rest.length === 0) throw pathNotFound();
    const resource = this.resourceOrNotFound(group, rest[0]!);
    return this.withName(resource, undefined, rest.slice(1));
  }

  private withName(resource: ResourceType, namespace: string | undefined, rest: string[]): Route {
    if (rest.length > 2) throw pathNotFound();
    if (rest.length === 2 && (rest[1] !== 'status' || !resource.statusSubresource)) throw pathNotFound();
    if (rest.length >= 1 && namespace === undefined && resource.namespaced) throw pathNotFound();
    return {
      resource,
      namespace,
      name: rest[0],
      subresource: rest.length === 2 ? 'status' : undefined,
    };
  }

  private resourceOrNotFound(group: string, plural: string): ResourceType {
    const r = this.store.resources.get(`${group}/${plural}`);
    if (!r) throw pathNotFound();
    return r;
  }

  private async serve(
    route: Route,
    method: string,
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
    user: string,
  ): Promise<void> {
    const { resource: r, namespace, name } = route;
    const ctx: WriteContext = {
      user,
      dryRun: query.getAll('dryRun').includes('All'),
      fieldValidation: fieldValidationOf(query.get('fieldValidation')),
    };
    const watch = query.get('watch') === 'true' || query.get('watch') === '1';
    if (method === 'GET' && !name) {
      if (watch) this.watch(route, query, res);
      else this.sendJson(res, 200, this.list(route, query));
      return;
    }
    if (!name) {
      if (method !== 'POST') throw methodNotAllowed();
      if (route.subresource) throw methodNotAllowed();
      const body = await readJson(req);
      const result = this.store.create(r, namespace, body, ctx);
      this.sendJson(res, 201, result.object, result.warnings);
      return;
    }
    switch (method) {
      case 'GET': {
        if (watch) {
          this.watch({ ...route, name: undefined }, withFieldName(query, name), res);
          return;
        }
        const found = this.store.get(r, namespace, name);
        if (!found) throw notFoundStatus(r, name);
        this.sendJson(res, 200, found);
        return;
      }
      case 'PUT': {
        const body = await readJson(req);
        const result = this.store.update(r, namespace, name, body, ctx, {
          subresource: route.subresource,
          requireResourceVersion: true,
        });
        this.sendJson(res, 200, result.object, result.warnings);
        return;
      }
      case 'PATCH': {
        const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        const patch = await readJson(req);
        const apply = this.patcher(r, contentType, patch);
        const result = this.store.modify(r, namespace, name, apply, ctx, { subresource: route.subresource });
        this.sendJson(res, 200, result.object, result.warnings);
        return;
      }
      case 'DELETE': {
        if (route.subresource) throw methodNotAllowed();
        const body = await readJson(req, true);
        const pre = isObject(body) && isObject(body.preconditions) ? body.preconditions : {};
        const deleted = this.store.delete(r, namespace, name, ctx, {
          uid: typeof pre.uid === 'string' ? pre.uid : undefined,
          resourceVersion: typeof pre.resourceVersion === 'string' ? pre.resourceVersion : undefined,
        });
        if (r.crd || r.plural === 'namespaces') this.sendJson(res, 200, deleted);
        else {
          const m = deleted.metadata as JsonObject;
          this.sendJson(res, 200, {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: { name, group: r.group, kind: r.plural, uid: m.uid },
          });
        }
        return;
      }
      default:
        throw methodNotAllowed();
    }
  }

  private patcher(r: ResourceType, contentType: string, patch: unknown): (current: JsonObject) => JsonObject {
    switch (contentType) {
      case 'application/merge-patch+json':
        return (current) => mergePatch(current, patch) as JsonObject;
      case 'application/strategic-merge-patch+json':
        if (r.crd) throw unsupportedPatch();
        return (current) => mergePatch(current, patch) as JsonObject;
      case 'application/json-patch+json':
        return (current) => {
          try {
            return jsonPatch(current, patch) as JsonObject;
          } catch (err) {
            throw new ApiError(
              422,
              'Invalid',
              `the server rejected our request due to an error in our request: ${(err as Error).message}`,
            );
          }
        };
      default:
        throw unsupportedPatch();
    }
  }

  // ---- list ------------------------------------------------------------------------------------------------

  private selectors(
    route: Route,
    query: URLSearchParams,
  ): { labels: LabelRequirement[]; fields: FieldRequirement[] } {
    const supported = ['metadata.name', 'metadata.namespace', ...route.resource.selectableFields];
    return {
      labels: parseLabelSelector(query.get('labelSelector') ?? ''),
      fields: parseFieldSelector(query.get('fieldSelector') ?? '', supported),
    };
  }

  private matches(obj: JsonObject, sel: { labels: LabelRequirement[]; fields: FieldRequirement[] }): boolean {
    const meta = obj.metadata as JsonObject;
    return (
      matchesLabels(meta.labels as Record<string, unknown> | undefined, sel.labels) &&
      matchesFields(obj, sel.fields)
    );
  }

  private list(route: Route, query: URLSearchParams): JsonObject {
    const r = route.resource;
    const limit = Number(query.get('limit') ?? 0);
    const token = query.get('continue');
    let rv: number;
    let items: JsonObject[];
    let start = 0;
    if (token) {
      const decoded = decodeContinue(token);
      const snapshot = decoded && this.snapshots.get(decoded.id);
      if (!decoded || !snapshot) {
        throw gone(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      rv = snapshot.rv;
      items = snapshot.items;
      start = decoded.start;
    } else {
      const sel = this.selectors(route, query);
      rv = this.store.resourceVersion;
      items = this.store.list(r, route.namespace).filter((o) => this.matches(o, sel));
    }
    const page = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
    const next = start + page.length;
    const metadata: JsonObject = { resourceVersion: String(rv) };
    if (limit > 0 && next < items.length) {
      let id = token ? decodeContinue(token)!.id : '';
      if (!id) {
        id = randomBytes(8).toString('hex');
        this.snapshots.set(id, { rv, items });
        while (this.snapshots.size > 64) this.snapshots.delete(this.snapshots.keys().next().value!);
      }
      metadata.continue = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: next, id })).toString(
        'base64url',
      );
      metadata.remainingItemCount = items.length - next;
    } else if (token) {
      this.snapshots.delete(decodeContinue(token)!.id);
    }
    return {
      apiVersion: apiVersionOf(r),
      kind: r.listKind,
      metadata,
      items: page.map((o) => withTypeMeta(r, o)),
    };
  }

  // ---- watch -----------------------------------------------------------------------------------------------

  private watch(route: Route, query: URLSearchParams, res: ServerResponse): void {
    const r = route.resource;
    const sel = this.selectors(route, query);
    const rvParam = query.get('resourceVersion') ?? '';
    const bookmarks = query.get('allowWatchBookmarks') === 'true';
    const sendInitialEvents = query.get('sendInitialEvents') === 'true';
    const timeoutParam = Number(query.get('timeoutSeconds') ?? '');
    const timeoutSeconds =
      Number.isFinite(timeoutParam) && timeoutParam > 0 ? timeoutParam : 1800 * (1 + Math.random());

    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    const write = (type: string, object: unknown) => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const inScope = (o: JsonObject) => {
      const m = o.metadata as JsonObject;
      return (!route.namespace || !r.namespaced || m.namespace === route.namespace) && this.matches(o, sel);
    };
    const deliver = (e: StoreEvent) => {
      if (e.resource !== r) return;
      const now = inScope(e.object);
      if (e.type === 'MODIFIED' && e.previous) {
        const before = inScope(e.previous);
        if (now && before) write('MODIFIED', withTypeMeta(r, e.object));
        else if (now) write('ADDED', withTypeMeta(r, e.object));
        else if (before) write('DELETED', withTypeMeta(r, e.object));
        return;
      }
      if (now) write(e.type, withTypeMeta(r, e.object));
    };
    const bookmark = (extra?: Record<string, string>) =>
      write('BOOKMARK', {
        kind: r.kind,
        apiVersion: apiVersionOf(r),
        metadata: {
          resourceVersion: String(this.store.resourceVersion),
          ...(extra ? { annotations: extra } : {}),
        },
      });

    // Replay, then subscribe, in the same tick: nothing can be written in between.
    if (rvParam === '' || rvParam === '0' || sendInitialEvents) {
      for (const o of this.store.list(r, route.namespace)) if (inScope(o)) write('ADDED', withTypeMeta(r, o));
      if (sendInitialEvents && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      const from = Number(rvParam);
      const events = Number.isInteger(from) && from >= 0 ? this.store.eventsSince(from) : 'gone';
      if (events === 'gone') {
        write(
          'ERROR',
          gone(`too old resource version: ${rvParam} (${this.store.oldestResourceVersion + 1})`).status,
        );
        res.end();
        return;
      }
      for (const e of events) deliver(e);
    }
    const unsubscribe = this.store.subscribe(deliver);
    const interval = bookmarks
      ? setInterval(() => bookmark(), this.options.bookmarkIntervalMs ?? 60_000)
      : undefined;
    const finalBookmark = bookmarks
      ? setTimeout(() => bookmark(), Math.max(0, timeoutSeconds * 1000 - 50))
      : undefined;
    const timer = setTimeout(() => close(), timeoutSeconds * 1000);
    const entry: OpenWatch = { response: res, close: () => close() };
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearTimeout(timer);
      if (interval) clearInterval(interval);
      if (finalBookmark) clearTimeout(finalBookmark);
      this.watches.delete(entry);
      if (!res.writableEnded) res.end();
    };
    this.watches.add(entry);
    res.on('close', close);
  }

  // ---- discovery -------------------------------------------------------------------------------------------

  private discovery(path: string): unknown {
    const kargo = [...this.store.resources.values()].filter((r) => r.group === KARGO_GROUP);
    const core = [...this.store.resources.values()].filter((r) => r.group === '');
    const groupVersion = { groupVersion: `${KARGO_GROUP}/v1alpha1`, version: 'v1alpha1' };
    switch (path) {
      case '/version':
        return {
          ...KUBE_VERSION,
          gitCommit: 'kargo-standin',
          gitTreeState: 'clean',
          buildDate: '2026-11-27T00:00:00Z',
          goVersion: 'go1.25',
          compiler: 'gc',
          platform: 'linux/amd64',
        };
      case '/api':
        return {
          kind: 'APIVersions',
          versions: ['v1'],
          serverAddressByClientCIDRs: [
            { clientCIDR: '0.0.0.0/0', serverAddress: this.baseUrl.replace(/^http:\/\//, '') },
          ],
        };
      case '/api/v1':
        return resourceList('v1', core);
      case '/apis':
        return {
          kind: 'APIGroupList',
          apiVersion: 'v1',
          groups: [{ name: KARGO_GROUP, versions: [groupVersion], preferredVersion: groupVersion }],
        };
      case `/apis/${KARGO_GROUP}`:
        return {
          kind: 'APIGroup',
          apiVersion: 'v1',
          name: KARGO_GROUP,
          versions: [groupVersion],
          preferredVersion: groupVersion,
        };
      case `/apis/${KARGO_GROUP}/v1alpha1`:
        return resourceList(`${KARGO_GROUP}/v1alpha1`, kargo);
      default:
        return undefined;
    }
  }

  // ---- responses -------------------------------------------------------------------------------------------

  private sendJson(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
    const headers: Record<string, string | string[]> = { 'Content-Type': 'application/json' };
    if (warnings.length > 0) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    res.writeHead(code, headers).end(JSON.stringify(body));
  }

  private sendStatus(res: ServerResponse, err: ApiError): void {
    this.sendJson(res, err.code, err.status);
  }
}

// ---- helpers -----------------------------------------------------------------------------------------------

const pathNotFound = (): ApiError =>
  new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
const methodNotAllowed = (): ApiError =>
  new ApiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  );
const unsupportedPatch = (): ApiError =>
  new ApiError(
    415,
    'UnsupportedMediaType',
    'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json',
  );

function notFoundStatus(r: ResourceType, name: string): ApiError {
  return new ApiError(
    404,
    'NotFound',
    `${r.group ? `${r.plural}.${r.group}` : r.plural} "${name}" not found`,
    {
      name,
      group: r.group,
      kind: r.plural,
    },
  );
}

function fieldValidationOf(v: string | null): WriteContext['fieldValidation'] {
  return v === 'Strict' || v === 'Ignore' || v === 'Warn' ? v : undefined;
}

function withTypeMeta(r: ResourceType, o: JsonObject): JsonObject {
  return { apiVersion: apiVersionOf(r), kind: r.kind, ...o };
}

/** GET .../{name}?watch=true is a watch of the collection narrowed to that name. */
function withFieldName(query: URLSearchParams, name: string): URLSearchParams {
  const q = new URLSearchParams(query);
  const existing = q.get('fieldSelector');
  q.set('fieldSelector', existing ? `${existing},metadata.name=${name}` : `metadata.name=${name}`);
  return q;
}

function decodeContinue(token: string): { id: string; start: number } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (isObject(parsed) && typeof parsed.id === 'string' && typeof parsed.start === 'number') {
      return { id: parsed.id, start: parsed.start };
    }
  } catch {
    // fall through
  }
  return undefined;
}

function resourceList(groupVersion: string, resources: ResourceType[]): JsonObject {
  const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: resources.flatMap((r) => [
      {
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs,
        ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
      },
      ...(r.statusSubresource
        ? [
            {
              name: `${r.plural}/status`,
              singularName: '',
              namespaced: r.namespaced,
              kind: r.kind,
              verbs: ['get', 'patch', 'update'],
            },
          ]
        : []),
    ]),
  };
}

async function readJson(req: IncomingMessage, optional = false): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY)
      throw new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    if (optional) return undefined;
    throw badRequest('the request body is empty');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(`the body of the request could not be decoded as JSON: ${(err as Error).message}`);
  }
}
