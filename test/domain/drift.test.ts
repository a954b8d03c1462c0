// The pure part of drift detection: state folding, the environment's view, when Slack hears, what it shows.
import { describe, expect, it } from '@jest/globals';
import { summariseDrift } from '../../src/artifacts/drift.js';
import type { DriftReport } from '../../src/artifacts/types.js';
import { checkBlockKitLimits } from '../../src/domain/blockkit.js';
import {
  applyDriftCheck,
  decideDrift,
  driftAuditRecord,
  driftCardKey,
  driftFingerprint,
  environmentDrift,
  parseDriftArtifactName,
  renderDriftCard,
  renderDriftStatus,
  type DriftCheck,
  type DriftTargetState,
} from '../../src/domain/drift.js';
import { parseCommand } from '../../src/domain/commands.js';
import { syntheticDriftPlan } from '../../src/sandbox/github-scenarios.js';

const at = (hour: number): string => new Date(Date.UTC(2026, 11, 7, hour)).toISOString();
const drifted = (hour: number, runId: number, env: 'dev' | 'prod' = 'dev'): DriftCheck => ({
  report: summariseDrift(syntheticDriftPlan(env), {
    cloud: 'aws',
    environment: env,
    exitCode: 2,
    checkedAt: at(hour),
  }),
  runId,
  runUrl: `https://github.com/acme/x/actions/runs/${runId}`,
});
const inSync = (
  hour: number,
  runId: number,
  env: 'dev' | 'prod' = 'dev',
  cloud: 'aws' | 'gcp' = 'aws',
): DriftCheck => ({
  report: summariseDrift(undefined, { cloud, environment: env, exitCode: 0, checkedAt: at(hour) }),
  runId,
});
const errored = (hour: number, runId: number): DriftCheck => ({
  report: summariseDrift(undefined, { cloud: 'aws', environment: 'dev', exitCode: 1, checkedAt: at(hour) }),
  runId,
});
const fold = (...checks: DriftCheck[]): DriftTargetState =>
  checks.reduce<DriftTargetState | undefined>((s, c) => applyDriftCheck(s, c), undefined)!;

describe('applyDriftCheck', () => {
  it('a newer check replaces what is known; an older or repeated one changes nothing', () => {
    const state = fold(inSync(0, 1), drifted(6, 2));
    expect(state.known?.runId).toBe(2);
    expect(applyDriftCheck(state, inSync(0, 1))).toBe(state);
    expect(applyDriftCheck(state, drifted(6, 2))).toBe(state);
  });

  it('an errored check is kept beside the last good one, and cleared by the next good one', () => {
    const failed = fold(drifted(0, 1), errored(6, 2));
    expect(failed.known?.runId).toBe(1);
    expect(failed.failed?.runId).toBe(2);
    expect(applyDriftCheck(failed, inSync(12, 3)).failed).toBeUndefined();
    expect(applyDriftCheck(failed, errored(3, 9))).toBe(failed);
  });
});

describe('environmentDrift and the fingerprint', () => {
  it('drifted when any cloud drifted; in sync when every checked cloud is; unknown before any check', () => {
    const aws = fold(drifted(0, 1));
    const gcp = fold(inSync(0, 1, 'dev', 'gcp'));
    expect(environmentDrift('dev', [aws, gcp])).toMatchObject({ status: 'drifted', total: 2 });
    expect(environmentDrift('dev', [fold(inSync(0, 1)), gcp]).status).toBe('in-sync');
    expect(environmentDrift('prod', [aws, gcp]).status).toBe('unknown');
    // An errored check keeps the last known state.
    expect(environmentDrift('dev', [fold(drifted(0, 1), errored(6, 2))]).status).toBe('drifted');
  });

  it('the same resources and actions give the same fingerprint; attribute names alone do not count', () => {
    const a = environmentDrift('dev', [fold(drifted(0, 1))]);
    const renamed = {
      ...a,
      resources: a.resources.map((r) => ({ ...r, changedAttributes: ['something_else'] })),
    };
    expect(driftFingerprint(renamed)).toBe(driftFingerprint(a));
    const fewer = { ...a, resources: a.resources.slice(1), total: 1 };
    expect(driftFingerprint(fewer)).not.toBe(driftFingerprint(a));
  });
});

describe('decideDrift: one card per environment and episode', () => {
  const view = (...checks: DriftCheck[]) => environmentDrift('dev', [fold(...checks)]);

  it('drift appears → opened (card key from the run that found it); nothing before that', () => {
    expect(decideDrift(undefined, view(inSync(0, 1)))).toEqual({ kind: 'none' });
    const opened = decideDrift(undefined, view(drifted(0, 7)));
    expect(opened).toMatchObject({
      kind: 'opened',
      episode: { id: '7', version: 1, total: 2, openedAt: at(0) },
    });
    if (opened.kind === 'opened') expect(driftCardKey(opened.episode)).toBe('drift-dev-7');
  });

  it('same drift → none; changed drift → changed (version up); back in sync → resolved; errored → none', () => {
    const opened = decideDrift(undefined, view(drifted(0, 7)));
    if (opened.kind !== 'opened') throw new Error('expected opened');
    expect(decideDrift(opened.episode, view(drifted(6, 8)))).toEqual({ kind: 'none' });
    const more: DriftCheck = drifted(12, 9);
    more.report = {
      ...more.report,
      resources: more.report.resources.slice(0, 1),
      counts: { ...more.report.counts, resources: 1 },
    };
    const changed = decideDrift(opened.episode, view(more));
    expect(changed).toMatchObject({ kind: 'changed', episode: { id: '7', version: 2, total: 1 } });
    const resolved = decideDrift(opened.episode, view(inSync(18, 10)));
    expect(resolved).toMatchObject({
      kind: 'resolved',
      episode: { id: '7', version: 2, resolvedAt: at(18) },
    });
    if (resolved.kind !== 'resolved') throw new Error('expected resolved');
    expect(decideDrift(resolved.episode, view(inSync(24, 11)))).toEqual({ kind: 'none' });
    expect(decideDrift(resolved.episode, view(drifted(30, 12)))).toMatchObject({
      kind: 'opened',
      episode: { id: '12' },
    });
    expect(decideDrift(opened.episode, environmentDrift('dev', [fold(errored(6, 13))]))).toEqual({
      kind: 'none',
    });
  });

  it('audits counts, never addresses', () => {
    const v = view(drifted(0, 7));
    const record = driftAuditRecord(decideDrift(undefined, v), v);
    expect(record).toMatchObject({
      id: 'drift:dev:7:1',
      action: 'drift.detected',
      environment: 'dev',
      outcome: 'failed',
      detail:
        'Drift check of dev found 2 resources changed outside Terraform (1 changed, 1 deleted) (run 7).',
    });
    expect(JSON.stringify(record)).not.toContain('aws_');
    expect(driftAuditRecord({ kind: 'none' }, v)).toBeUndefined();
  });
});

describe('rendering', () => {
  it('a card with hundreds of drifted resources stays within Block Kit limits and says how many are left out', () => {
    const plan = {
      resource_drift: Array.from({ length: 180 }, (_, i) => ({
        address: `module.m${i}.aws_security_group_rule.r["${'x'.repeat(60)}"]`,
        mode: 'managed',
        type: 'aws_security_group_rule',
        change: {
          actions: [i % 3 === 0 ? 'delete' : 'update'],
          before: { a: 1, b: 1 },
          after: i % 3 === 0 ? null : { a: 2, b: 2 },
        },
      })),
    };
    const report: DriftReport = summariseDrift(plan, {
      cloud: 'aws',
      environment: 'prod',
      exitCode: 2,
      checkedAt: at(0),
    });
    const v = environmentDrift('prod', [applyDriftCheck(undefined, { report, runId: 3 })]);
    const d = decideDrift(undefined, v);
    if (d.kind !== 'opened') throw new Error('expected opened');
    const card = renderDriftCard(d.episode, v);
    expect(checkBlockKitLimits(card.blocks)).toEqual([]);
    expect(JSON.stringify(card.blocks)).toMatch(/and 1[0-9]{2} more resources/);
    const status = renderDriftStatus([v], new Date(at(1)));
    expect(checkBlockKitLimits(status.blocks)).toEqual([]);
  });

  it('/drift: in sync, drifted, never checked, and a check that could not run', () => {
    const views = [
      environmentDrift('dev', [fold(inSync(0, 1), errored(6, 2))]),
      environmentDrift('prod', []),
    ];
    const text = JSON.stringify(renderDriftStatus(views, new Date(at(7))).blocks);
    expect(text).toContain('*dev* — ✅ in sync with its Terraform state · checked 7h ago');
    expect(text).toContain('could not run: terraform plan -refresh-only failed (exit code 1)');
    expect(text).toContain('*prod* — no drift check recorded yet');
  });

  it('names the artifacts drift.yaml uploads', () => {
    expect(parseDriftArtifactName('drift-aws-prod')).toEqual({ cloud: 'aws', environment: 'prod' });
    expect(parseDriftArtifactName('drift-gcp-prod')).toBeUndefined();
    expect(parseDriftArtifactName('plan-summary-aws-dev')).toBeUndefined();
  });
});

describe('/drift and /stats parse', () => {
  it('accept what they document and answer anything else with the usage line', () => {
    expect(parseCommand('/drift', '')).toEqual({ ok: true, command: { kind: 'drift' } });
    expect(parseCommand('/drift', ' *PROD* ')).toEqual({
      ok: true,
      command: { kind: 'drift', environment: 'prod' },
    });
    expect(parseCommand('/stats', '')).toEqual({ ok: true, command: { kind: 'stats', days: 30 } });
    expect(parseCommand('/stats', '90d')).toEqual({ ok: true, command: { kind: 'stats', days: 90 } });
    expect(parseCommand('/stats', '7')).toEqual({ ok: true, command: { kind: 'stats', days: 7 } });
    for (const [command, text] of [
      ['/drift', 'staging'],
      ['/drift', 'dev prod'],
      ['/stats', '14d'],
      ['/stats', '30d please'],
    ] as const) {
      const result = parseCommand(command, text);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toContain(`Usage: ${command}`);
    }
  });
});
