import { describe, it, expect } from '@jest/globals';
import {
  compareFreightNewestFirst,
  toEventSummary,
  toFreightSummary,
  toPromotionSummary,
  toStageSummary,
  type KargoFreight,
} from '../../src/kargo/mapping.js';

describe('toFreightSummary', () => {
  it('maps top-level fields, alias (field or label) and status maps', () => {
    const summary = toFreightSummary({
      metadata: {
        name: 'abc123',
        creationTimestamp: '2026-11-20T10:00:00Z',
        labels: { 'kargo.akuity.io/alias': 'frozen-tauntaun' },
      },
      origin: { kind: 'Warehouse', name: 'infra' },
      discoveredAt: '2026-11-20T09:59:00Z',
      commits: [
        {
          repoURL: 'https://github.com/o/r',
          id: 'deadbeef',
          branch: 'main',
          message: 'feat',
          author: 'a',
          tag: 'v1',
        },
      ],
      status: {
        currentlyIn: { dev: { since: '2026-11-21T00:00:00Z' } },
        verifiedIn: { dev: { verifiedAt: '2026-11-21T01:00:00Z' } },
        approvedFor: { prod: {} },
      },
    });
    expect(summary).toEqual({
      name: 'abc123',
      alias: 'frozen-tauntaun',
      warehouse: 'infra',
      createdAt: '2026-11-20T09:59:00Z',
      commits: [
        { repoURL: 'https://github.com/o/r', id: 'deadbeef', branch: 'main', message: 'feat', author: 'a' },
      ],
      currentlyIn: { dev: { since: '2026-11-21T00:00:00Z' } },
      verifiedIn: { dev: { verifiedAt: '2026-11-21T01:00:00Z' } },
      approvedFor: { prod: {} },
    });
  });

  it('falls back to creationTimestamp on Kargo ≤ 1.10 (no discoveredAt) and tolerates missing status', () => {
    const summary = toFreightSummary({
      metadata: { name: 'x', creationTimestamp: '2026-01-01T00:00:00Z' },
      alias: 'a',
      origin: { kind: 'Warehouse', name: 'w' },
    });
    expect(summary.createdAt).toBe('2026-01-01T00:00:00Z');
    expect(summary.currentlyIn).toEqual({});
    expect(summary.commits).toEqual([]);
  });

  it('orders newest first, by discoveredAt then creation time then name', () => {
    const f = (name: string, created: string, discovered?: string): KargoFreight => ({
      metadata: { name, creationTimestamp: created },
      ...(discovered ? { discoveredAt: discovered } : {}),
    });
    const sorted = [
      f('old', '2026-01-01T00:00:00Z'),
      f('b', '2026-03-01T00:00:00Z'),
      f('a', '2026-03-01T00:00:00Z'),
      f('rediscovered', '2026-01-02T00:00:00Z', '2026-05-01T00:00:00Z'),
    ]
      .sort(compareFreightNewestFirst)
      .map((x) => x.metadata?.name);
    expect(sorted).toEqual(['rediscovered', 'a', 'b', 'old']);
  });
});

describe('toStageSummary', () => {
  it('maps requestedFreight, current freight (freightHistory[0]), the history, auto-promotion and its holds, promotions and health', () => {
    const summary = toStageSummary({
      metadata: { name: 'prod' },
      spec: {
        requestedFreight: [
          {
            origin: { kind: 'Warehouse', name: 'infra' },
            sources: { stages: ['dev'], requiredSoakTime: '1h' },
          },
        ],
      },
      status: {
        freightHistory: [
          {
            id: 'c1',
            items: { 'Warehouse/infra': { name: 'abc123', origin: { kind: 'Warehouse', name: 'infra' } } },
          },
          { id: 'c0', items: { 'Warehouse/infra': { name: 'older' } } },
        ],
        currentPromotion: { name: 'prod.01k.abc1234' },
        lastPromotion: {
          name: 'prod.01j.older00',
          finishedAt: '2026-11-01T00:00:00Z',
          status: { phase: 'Succeeded' },
        },
        health: { status: 'Healthy' },
        autoPromotionEnabled: false,
        autoPromotionHolds: {
          'Warehouse/infra': {
            freightName: 'older',
            origin: { kind: 'Warehouse', name: 'infra' },
            actor: 'admin',
            promotionName: 'prod.01j.older00',
            createdAt: '2026-11-01T00:00:00Z',
          },
        },
      },
    });
    expect(summary).toEqual({
      name: 'prod',
      requestedFreight: [
        {
          origin: { kind: 'Warehouse', name: 'infra' },
          sources: { stages: ['dev'], requiredSoakTime: '1h' },
        },
      ],
      currentFreight: { 'Warehouse/infra': 'abc123' },
      history: [{ 'Warehouse/infra': 'abc123' }, { 'Warehouse/infra': 'older' }],
      autoPromotionHolds: [
        {
          origin: 'Warehouse/infra',
          freightName: 'older',
          actor: 'admin',
          promotionName: 'prod.01j.older00',
          createdAt: '2026-11-01T00:00:00Z',
        },
      ],
      autoPromotionEnabled: false,
      currentPromotion: 'prod.01k.abc1234',
      lastPromotion: { name: 'prod.01j.older00', phase: 'Succeeded', finishedAt: '2026-11-01T00:00:00Z' },
      health: 'Healthy',
    });
  });

  it('reads the effective auto-promotion holds (durable ones plus in-flight Promotions) when Kargo reports them', () => {
    const hold = (freightName: string, promotionName: string) => ({
      freightName,
      origin: { kind: 'Warehouse' as const, name: 'infra' },
      promotionName,
    });
    const summary = toStageSummary({
      metadata: { name: 'dev' },
      status: {
        // Released by a newer Promotion still running: only the effective map knows it is gone.
        autoPromotionHolds: { 'Warehouse/infra': hold('older', 'dev.01j.older00') },
        effectiveAutoPromotionHolds: {},
      },
    });
    expect(summary.autoPromotionHolds).toBeUndefined();
    const pending = toStageSummary({
      metadata: { name: 'dev' },
      status: { effectiveAutoPromotionHolds: { 'Warehouse/infra': hold('oldest', 'dev.01k.oldest0') } },
    });
    expect(pending.autoPromotionHolds).toEqual([
      { origin: 'Warehouse/infra', freightName: 'oldest', promotionName: 'dev.01k.oldest0' },
    ]);
  });
});

describe('toPromotionSummary', () => {
  it('lists every step of the spec (aliases as Kargo assigns them) merged with execution metadata, and step outputs', () => {
    const summary = toPromotionSummary({
      metadata: {
        name: 'p',
        namespace: 'gitops-infra',
        creationTimestamp: '2026-11-27T09:00:00Z',
        resourceVersion: '42',
        annotations: { a: 'b' },
      },
      spec: {
        stage: 'prod',
        freight: 'abc',
        steps: [{ uses: 'http', as: 'dispatch' }, { uses: 'http', as: 'waitRun' }, { uses: 'http' }],
      },
      status: {
        phase: 'Running',
        stepExecutionMetadata: [
          {
            alias: 'dispatch',
            status: 'Succeeded',
            startedAt: '2026-11-27T09:00:01Z',
            finishedAt: '2026-11-27T09:00:02Z',
          },
          { alias: 'waitRun', status: 'Running' },
        ],
        state: { dispatch: { runId: 123 }, ignored: 'scalar' },
      },
    });
    expect(summary).toEqual({
      name: 'p',
      namespace: 'gitops-infra',
      stage: 'prod',
      freight: 'abc',
      createdAt: '2026-11-27T09:00:00Z',
      phase: 'Running',
      annotations: { a: 'b' },
      steps: [
        {
          alias: 'dispatch',
          status: 'Succeeded',
          startedAt: '2026-11-27T09:00:01Z',
          finishedAt: '2026-11-27T09:00:02Z',
        },
        { alias: 'waitRun', status: 'Running' },
        { alias: 'step-2' },
      ],
      stepOutputs: { dispatch: { runId: 123 } },
      resourceVersion: '42',
    });
  });

  it('ignores unknown phases and takes the freight from status for origin-form Promotions', () => {
    const summary = toPromotionSummary({
      metadata: { name: 'p' },
      spec: { stage: 'dev', origin: { kind: 'Warehouse', name: 'w' } },
      status: { phase: 'Weird', freight: { name: 'resolved' } },
    });
    expect(summary.phase).toBeUndefined();
    expect(summary.freight).toBe('resolved');
  });
});

describe('toEventSummary', () => {
  it('normalises Date timestamps (typed list) and keeps Kargo annotations', () => {
    const summary = toEventSummary({
      metadata: { name: 'e1', annotations: { 'event.kargo.akuity.io/actor': 'admin' } },
      reason: 'PromotionSucceeded',
      message: 'ok',
      involvedObject: { kind: 'Promotion', name: 'p' },
      firstTimestamp: new Date('2026-11-27T09:00:00Z'),
      lastTimestamp: '2026-11-27T09:01:00Z',
    });
    expect(summary).toEqual({
      name: 'e1',
      reason: 'PromotionSucceeded',
      message: 'ok',
      involvedObject: { kind: 'Promotion', name: 'p' },
      annotations: { 'event.kargo.akuity.io/actor': 'admin' },
      firstTimestamp: '2026-11-27T09:00:00Z',
      lastTimestamp: '2026-11-27T09:01:00Z',
    });
  });

  it('keeps sub-second precision of Date timestamps when there is some', () => {
    const summary = toEventSummary({
      metadata: { name: 'e' },
      reason: 'R',
      firstTimestamp: new Date('2026-11-27T09:00:00.250Z'),
    });
    expect(summary.firstTimestamp).toBe('2026-11-27T09:00:00.250Z');
  });

  it('falls back to eventTime for events.k8s.io-style events', () => {
    const summary = toEventSummary({
      metadata: { name: 'e' },
      reason: 'R',
      eventTime: '2026-11-27T09:00:00.000000Z',
    });
    expect(summary.firstTimestamp).toBe('2026-11-27T09:00:00.000000Z');
    expect(summary.lastTimestamp).toBe('2026-11-27T09:00:00.000000Z');
  });
});
