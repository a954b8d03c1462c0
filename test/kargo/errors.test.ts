// Error mapping for answers that only Kargo's admission webhooks produce (kargo-api.md §2.3). The real
// API server in client.test.ts has no Kargo webhooks, so these Status bodies are built exactly as the API
// server relays webhook denials: `admission webhook "<name>" denied the request: <webhook's message>`.
import { describe, it, expect } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { ChatOpsError, ErrorCode } from '../../src/domain/errors.js';
import {
  isAlreadyExists,
  isGone,
  isNetworkError,
  toChatOpsError,
  type KubeStatus,
} from '../../src/kargo/errors.js';

const apiError = (status: KubeStatus): ApiException<string> =>
  new ApiException<string>(
    status.code ?? 500,
    'Unknown API Status Code!',
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', ...status }),
    {},
  );

const ctx = { operation: 'create Promotion' };
const promo = 'prod.01k3x9q8z5w7v2m4n6p8r0s2t4.f5f87aa';

describe('toChatOpsError: Kargo webhook answers', () => {
  it('500 "not permitted to create Promotions for Stage" (missing promote verb) → KargoRejected, permanent', () => {
    const err = toChatOpsError(
      apiError({
        code: 500,
        reason: 'InternalError',
        message:
          `admission webhook "vpromotion.kargo.akuity.io" denied the request: Internal error occurred: ` +
          `Promotion.kargo.akuity.io "${promo}" is forbidden: subject "system:serviceaccount:chatops:chatops-bot" ` +
          `is not permitted to create Promotions for Stage "prod"`,
        details: {
          causes: [{ message: 'subject ... is not permitted to create Promotions for Stage "prod"' }],
        },
      }),
      ctx,
    );
    expect(err.code).toBe(ErrorCode.KargoRejected);
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(/promote/);
  });

  it('422 on spec.freight "Freight is not available to this Stage" → FreightNotAvailable', () => {
    const err = toChatOpsError(
      apiError({
        code: 422,
        reason: 'Invalid',
        message:
          `admission webhook "vpromotion.kargo.akuity.io" denied the request: Promotion.kargo.akuity.io "${promo}" ` +
          `is invalid: spec.freight: Invalid value: "f5f87aa23c": Freight is not available to this Stage`,
        details: {
          name: promo,
          group: 'kargo.akuity.io',
          kind: 'Promotion',
          causes: [
            {
              reason: 'FieldValueInvalid',
              message: 'Invalid value: "f5f87aa23c": Freight is not available to this Stage',
              field: 'spec.freight',
            },
          ],
        },
      }),
      ctx,
    );
    expect(err.code).toBe(ErrorCode.FreightNotAvailable);
    expect(err.permanent).toBe(true);
  });

  it('422 on spec.stage "could not find Stage" (1.11) → StageNotFound', () => {
    const err = toChatOpsError(
      apiError({
        code: 422,
        reason: 'Invalid',
        message: `admission webhook "mpromotion.kargo.akuity.io" denied the request: Promotion.kargo.akuity.io "" is invalid: spec.stage: Invalid value: "qa": could not find Stage "qa" in namespace "gitops-infra"`,
        details: {
          causes: [{ reason: 'FieldValueInvalid', field: 'spec.stage', message: 'could not find Stage' }],
        },
      }),
      ctx,
    );
    expect(err.code).toBe(ErrorCode.StageNotFound);
  });

  it('"could not find Stage" as a plain denial (≤ 1.10, 403 from controller-runtime) → StageNotFound', () => {
    const err = toChatOpsError(
      apiError({
        code: 403,
        reason: 'Forbidden',
        message: `admission webhook "mpromotion.kargo.akuity.io" denied the request: could not find Stage "qa" in namespace "gitops-infra"`,
      }),
      ctx,
    );
    expect(err.code).toBe(ErrorCode.StageNotFound);
  });

  it('422 on spec.stage without a known message → StageNotFound', () => {
    const err = toChatOpsError(
      apiError({
        code: 422,
        reason: 'Invalid',
        message: 'x is invalid',
        details: { causes: [{ field: 'spec.stage', message: 'Invalid value' }] },
      }),
      ctx,
    );
    expect(err.code).toBe(ErrorCode.StageNotFound);
  });

  it('"defines no promotion steps" → KargoRejected (the Stage exists; it just cannot be promoted)', () => {
    const err = toChatOpsError(
      apiError({
        code: 422,
        reason: 'Invalid',
        message: `Promotion.kargo.akuity.io "${promo}" is invalid: spec.stage: Invalid value: "prod": Stage "prod" in namespace "gitops-infra" defines no promotion steps`,
        details: { causes: [{ field: 'spec.stage' }] },
      }),
      ctx,
    );
    expect(err.code).toBe(ErrorCode.KargoRejected);
  });

  it('a webhook that cannot be reached (500 "failed calling webhook") → KargoUnavailable, transient', () => {
    const err = toChatOpsError(
      apiError({
        code: 500,
        reason: 'InternalError',
        message:
          'Internal error occurred: failed calling webhook "mpromotion.kargo.akuity.io": failed to call webhook: Post "https://kargo-webhooks-server.kargo.svc:443/...": dial tcp 10.0.0.9:443: connect: connection refused',
      }),
      ctx,
    );
    expect(err.code).toBe(ErrorCode.KargoUnavailable);
    expect(err.permanent).toBe(false);
  });
});

describe('toChatOpsError: Kubernetes answers', () => {
  it('403 RBAC → KargoRejected', () => {
    const err = toChatOpsError(
      apiError({
        code: 403,
        reason: 'Forbidden',
        message: 'promotions.kargo.akuity.io is forbidden: User "x" cannot create resource "promotions"',
      }),
      ctx,
    );
    expect(err.code).toBe(ErrorCode.KargoRejected);
    expect(err.message).toMatch(/RBAC/);
  });

  it('401 (no body, as client-node reports it) → KargoRejected', () => {
    const err = toChatOpsError(new ApiException<undefined>(401, 'Unauthorized', undefined, {}), ctx);
    expect(err.code).toBe(ErrorCode.KargoRejected);
  });

  it('404 maps to the addressed object', () => {
    const notFound = (kind: string) =>
      apiError({
        code: 404,
        reason: 'NotFound',
        message: `${kind} "x" not found`,
        details: { name: 'x', group: 'kargo.akuity.io', kind },
      });
    expect(toChatOpsError(notFound('stages'), { ...ctx, resource: 'stage', name: 'x' }).code).toBe(
      ErrorCode.StageNotFound,
    );
    expect(toChatOpsError(notFound('freights'), { ...ctx, resource: 'freight', name: 'x' }).code).toBe(
      ErrorCode.FreightNotFound,
    );
    // The project namespace itself is missing: not a user error about the stage.
    expect(
      toChatOpsError(
        apiError({
          code: 404,
          reason: 'NotFound',
          message: 'namespaces "nope" not found',
          details: { name: 'nope', kind: 'namespaces' },
        }),
        {
          ...ctx,
          resource: 'freight',
        },
      ).code,
    ).toBe(ErrorCode.KargoRejected);
  });

  it('422 schema/CEL violations elsewhere → KargoRejected', () => {
    const err = toChatOpsError(
      apiError({
        code: 422,
        reason: 'Invalid',
        message:
          'Promotion.kargo.akuity.io "p" is invalid: spec.steps[0]: Invalid value: "object": Promotion step must have uses set',
        details: { causes: [{ field: 'spec.steps[0]' }] },
      }),
      ctx,
    );
    expect(err.code).toBe(ErrorCode.KargoRejected);
  });

  it('429, 409 Conflict, 503 and 504 → KargoUnavailable', () => {
    for (const code of [429, 503, 504]) {
      expect(toChatOpsError(apiError({ code, message: 'busy' }), ctx).code).toBe(ErrorCode.KargoUnavailable);
    }
    expect(
      toChatOpsError(
        apiError({ code: 409, reason: 'Conflict', message: 'the object has been modified' }),
        ctx,
      ).code,
    ).toBe(ErrorCode.KargoUnavailable);
  });

  it('network errors → KargoUnavailable; programming errors → Internal', () => {
    const refused = Object.assign(
      new Error('request to https://127.0.0.1:1/ failed, reason: connect ECONNREFUSED'),
      {
        name: 'FetchError',
        type: 'system',
        code: 'ECONNREFUSED',
      },
    );
    expect(isNetworkError(refused)).toBe(true);
    expect(toChatOpsError(refused, ctx).code).toBe(ErrorCode.KargoUnavailable);
    expect(toChatOpsError(new TypeError('x is undefined'), ctx).code).toBe(ErrorCode.Internal);
  });

  it("client-node 2.x's fetch failures (the system error code in the cause chain) → KargoUnavailable", () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
    });
    const reset = new TypeError('fetch failed', {
      cause: new Error('other side closed', {
        cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
      }),
    });
    expect(isNetworkError(refused)).toBe(true);
    expect(isNetworkError(reset)).toBe(true);
    expect(toChatOpsError(refused, ctx).code).toBe(ErrorCode.KargoUnavailable);
    expect(toChatOpsError(reset, ctx).code).toBe(ErrorCode.KargoUnavailable);
  });

  it('passes ChatOpsErrors through unchanged', () => {
    const original = new ChatOpsError(ErrorCode.FreightNotFound, 'nope');
    expect(toChatOpsError(original, ctx)).toBe(original);
  });
});

describe('status predicates', () => {
  it('isAlreadyExists only for 409 AlreadyExists', () => {
    expect(isAlreadyExists(apiError({ code: 409, reason: 'AlreadyExists', message: 'exists' }))).toBe(true);
    expect(isAlreadyExists(apiError({ code: 409, reason: 'Conflict', message: 'modified' }))).toBe(false);
  });

  it('isGone for HTTP 410, a 410 watch ERROR Status, and the "too old" message', () => {
    expect(isGone(Object.assign(new Error('Gone'), { statusCode: 410 }))).toBe(true);
    expect(
      isGone({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (2345)' }),
    ).toBe(true);
    expect(isGone({ kind: 'Status', code: 500, message: 'boom' })).toBe(false);
    expect(
      isGone(
        new ChatOpsError(
          ErrorCode.KargoUnavailable,
          'x',
          apiError({ code: 410, reason: 'Expired', message: 'continue expired' }),
        ),
      ),
    ).toBe(true);
  });
});
