// Raw REST calls to the envtest kube-apiserver for the deployment tests: server-side apply with strict field
// validation (dry run or for real), discovery-based object paths, SubjectAccessReviews. Raw on purpose: the
// manifests are sent exactly as written or rendered, not through a typed client that might drop fields.
import * as https from 'node:https';
import { expect } from '@jest/globals';
import type { Envtest } from '../support/envtest.js';
import type { KubeObject } from './bundle.js';

export interface ApiResponse {
  status: number;
  body: Record<string, unknown>;
}

export interface ApiServer {
  request(method: string, urlPath: string, body?: unknown, contentType?: string): Promise<ApiResponse>;
  /** REST path of an object, from the API server's own discovery documents. */
  objectPath(obj: KubeObject): Promise<string>;
  /** Server-side apply with strict field validation: unknown or duplicate fields are errors, not dropped. */
  apply(obj: KubeObject, dryRun: boolean): Promise<ApiResponse>;
  /** May this ServiceAccount do that? (SubjectAccessReview) */
  allowed(namespace: string, serviceAccount: string, attributes: Record<string, string>): Promise<boolean>;
}

export const describeFailure = (res: ApiResponse): string =>
  `${res.status} ${String(res.body.message ?? JSON.stringify(res.body))}`;

/** A client for the envtest API server, as admin or with the given bearer token. */
export function apiServer(env: Envtest, token = env.adminKubeConfig.getCurrentUser()!.token!): ApiServer {
  const server = new URL(env.server);
  const discovered = new Map<string, Array<{ name: string; kind: string; namespaced: boolean }>>();

  const request: ApiServer['request'] = (method, urlPath, body, contentType = 'application/json') =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(
        {
          host: server.hostname,
          port: server.port,
          path: urlPath,
          method,
          ca: env.caPem,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
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

  const objectPath: ApiServer['objectPath'] = async (obj) => {
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
  };

  const apply: ApiServer['apply'] = async (obj, dryRun) => {
    const query = `fieldManager=deploy-test&force=true&fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`;
    return request('PATCH', `${await objectPath(obj)}?${query}`, obj, 'application/apply-patch+yaml');
  };

  const allowed: ApiServer['allowed'] = async (namespace, serviceAccount, attributes) => {
    const res = await request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: `system:serviceaccount:${namespace}:${serviceAccount}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
        resourceAttributes: attributes,
      },
    });
    expect(res.status).toBe(201);
    return (res.body.status as { allowed: boolean }).allowed;
  };

  return { request, objectPath, apply, allowed };
}
