import { describe, expect, it } from '@jest/globals';
import { auditRecordFor, commandAudit } from '../../src/domain/audit-records.js';
import { CARD_ID, PROMOTION, at, atMin, ev, finding, runEv, steps } from './builders.js';
import { failingTrivyProdRun, passingDevRun } from './run-stories.js';

describe('auditRecordFor', () => {
  it('attributes a request to the Slack user who made it', () => {
    expect(auditRecordFor(ev.requested(0))).toEqual({
      id: `event:request:${CARD_ID}`,
      at: at(0),
      actor: 'slack:U012ABCDEF',
      action: 'promote',
      environment: 'prod',
      target: 'frozen-tauntaun',
      outcome: 'accepted',
      detail: 'jane (U012ABCDEF) requested a promotion of frozen-tauntaun to prod.',
      channelId: 'C0DEPLOYS',
      cardId: CARD_ID,
    });
  });

  it('attributes a created Promotion to Kargo’s actor, or to the system when unknown', () => {
    expect(auditRecordFor(ev.created(1))).toMatchObject({
      actor: 'kargo:kubernetes:system:serviceaccount:chatops:chatops-bot',
      action: 'promotion.created',
      environment: 'prod',
      target: PROMOTION,
      detail: `Kargo Promotion ${PROMOTION} was created for stage prod with freight f5f87aa.`,
    });
    expect(auditRecordFor({ ...ev.created(1), createdBy: undefined }).actor).toBe('system');
  });

  it('writes one sentence per phase, with its outcome', () => {
    expect(auditRecordFor(ev.phase('Succeeded', 14))).toMatchObject({
      actor: 'system',
      outcome: 'succeeded',
      detail: `Promotion ${PROMOTION} succeeded.`,
    });
    expect(auditRecordFor(ev.phase('Failed', 9, 'step waitRun failed'))).toMatchObject({
      outcome: 'failed',
      detail: `Promotion ${PROMOTION} failed: step waitRun failed`,
    });
    expect(auditRecordFor(ev.phase('Running', 2)).outcome).toBe('info');
  });

  it('names who aborted, from Kargo’s abort message', () => {
    expect(auditRecordFor(ev.phase('Aborted', 5, 'Promotion terminated by admin')).actor).toBe('kargo:admin');
  });

  it('records rejections, steps, freight and runs', () => {
    expect(auditRecordFor(ev.rejected(1))).toMatchObject({
      outcome: 'rejected',
      detail:
        'The promotion was not created (chatops_freight_not_available): f5f87aa (frozen-tauntaun) is not verified in dev yet',
    });
    expect(auditRecordFor(ev.step('dispatch', 'Succeeded', 3, 0)).detail).toBe(
      `Step dispatch of ${PROMOTION} is Succeeded.`,
    );
    expect(auditRecordFor(ev.resolved(0)).detail).toBe(
      'The request was resolved to freight f5f87aa (frozen-tauntaun).',
    );
    expect(auditRecordFor(ev.run(3)).target).toBe('12345');
  });

  it('leaves absent fields out instead of writing undefined', () => {
    const record = auditRecordFor(ev.phase('Running', 2));
    expect(Object.values(record)).not.toContain(undefined);
    expect(record).not.toHaveProperty('environment');
  });

  it('bounds huge free text', () => {
    const record = auditRecordFor(ev.phase('Failed', 9, 'x'.repeat(100_000)));
    expect(record.detail.length).toBeLessThan(500);
  });
});

describe('auditRecordFor: the GitHub Actions run', () => {
  it('records run status changes, attributed to who triggered the run', () => {
    expect(auditRecordFor(runEv.status('in_progress', 3))).toEqual({
      id: 'event:run-status:12345:1:in_progress:',
      at: atMin(3),
      cardId: CARD_ID,
      actor: 'github:kargo-bot',
      action: 'run.status',
      target: '12345',
      outcome: 'info',
      detail: 'GitHub Actions run 12345 is in progress.',
    });
    expect(
      auditRecordFor(runEv.status('completed', 9, { conclusion: 'failure', runAttempt: 2 })),
    ).toMatchObject({
      outcome: 'failed',
      detail: 'GitHub Actions run 12345 (attempt 2) completed: failure.',
    });
    expect(auditRecordFor(runEv.status('completed', 9, { conclusion: 'success' })).outcome).toBe('succeeded');
    expect(auditRecordFor(runEv.status('waiting', 9, { triggeredBy: undefined }))).toMatchObject({
      actor: 'system',
      detail: 'GitHub Actions run 12345 is waiting for approval.',
    });
  });

  it('records a job, naming the step it failed at', () => {
    const failed = runEv.job(
      9008,
      'prod gates (Trivy hard, OPA on HCL + plan)',
      'completed',
      7,
      steps({ name: 'Set up job' }, { name: 'Trivy (HIGH/CRITICAL, hard)', conclusion: 'failure' }),
      { conclusion: 'failure' },
    );
    expect(auditRecordFor(failed)).toMatchObject({
      action: 'run.job',
      target: 'prod gates (Trivy hard, OPA on HCL + plan)',
      outcome: 'failed',
      detail:
        'Job prod gates (Trivy hard, OPA on HCL + plan) of run 12345 completed: failure at step Trivy (HIGH/CRITICAL, hard).',
    });
  });

  it('records gate results with counts, never finding texts', () => {
    const gate = failingTrivyProdRun().find((e) => e.type === 'GateReported' && e.result.status === 'failed');
    if (!gate) throw new Error('no failed gate');
    const record = auditRecordFor(gate);
    expect(record).toMatchObject({
      action: 'gate.result',
      environment: 'prod',
      target: 'trivy/aws/prod',
      outcome: 'failed',
      detail: 'Gate trivy for aws prod failed with 2 critical, 3 high findings.',
    });
    expect(record.detail).not.toContain('AVD-AWS');
    expect(
      auditRecordFor(
        runEv.gate(8, {
          gate: 'trivy',
          cloud: 'aws',
          environment: 'dev',
          status: 'soft-failed',
          findings: { critical: 0, high: 1, medium: 0, low: 0, unknown: 0 },
          topFindings: [finding('AVD-AWS-0178', 'HIGH', 'aws_vpc.main')],
        }),
      ),
    ).toMatchObject({
      outcome: 'info',
      detail: 'Gate trivy for aws dev reported findings (soft gate, not blocking) with 1 high finding.',
    });
    expect(auditRecordFor(runEv.gate(5, { gate: 'opa', cloud: 'all', environment: 'all' }))).toMatchObject({
      outcome: 'succeeded',
      detail: 'Gate opa passed.',
    });
  });

  it('records plans and outputs as counts, never addresses or values', () => {
    const plan = auditRecordFor(
      runEv.plan(6, 'aws', 'prod', {
        add: ['aws_instance.web'],
        destroy: ['aws_eip.old', 'aws_instance.db'],
        replace: ['aws_instance.db'],
      }),
    );
    expect(plan).toMatchObject({
      action: 'plan.summary',
      environment: 'prod',
      target: 'aws/prod',
      detail: 'Plan for aws prod: 1 to add, 0 to change, 2 to destroy (1 replaced).',
    });
    expect(plan.detail).not.toContain('aws_eip');
    const outputs = passingDevRun().find((e) => e.type === 'OutputsPublished');
    if (!outputs) throw new Error('no outputs');
    const record = auditRecordFor(outputs);
    expect(record).toMatchObject({
      action: 'terraform.outputs',
      detail: 'Terraform outputs for aws dev were published: 7 outputs, 1 sensitive output left out.',
    });
    expect(record.detail).not.toContain('203.0.113.10');
    expect(record.detail).not.toContain('kubeconfig');
  });

  it('records an artifact problem as a failure, bounded', () => {
    expect(auditRecordFor(runEv.problem(15, 'plan-summary-aws-dev'))).toMatchObject({
      action: 'artifact.problem',
      target: 'plan-summary-aws-dev',
      outcome: 'failed',
      detail:
        'plan-summary-aws-dev is missing: the plan could not be summarised (run 12345): no artifact named plan-summary-aws-dev in run 12345',
    });
    const huge = auditRecordFor(runEv.problem(15, 'x'.repeat(10_000), 'malformed', 'y'.repeat(100_000)));
    expect(huge.detail.length).toBeLessThan(1000);
    expect(Object.values(huge)).not.toContain(undefined);
  });
});

describe('commandAudit', () => {
  it('records a denied command with the Slack actor', () => {
    expect(
      commandAudit({
        id: 'cmd:trigger-1',
        at: at(0),
        actor: { slackUserId: 'U0BOB' },
        command: '/unlock',
        environment: 'prod',
        outcome: 'denied',
        detail: 'You are not allowed to unlock the Terraform state of prod.',
        channelId: 'C0DEPLOYS',
      }),
    ).toEqual({
      id: 'cmd:trigger-1',
      at: at(0),
      actor: 'slack:U0BOB',
      action: 'unlock',
      environment: 'prod',
      outcome: 'denied',
      detail: 'You are not allowed to unlock the Terraform state of prod.',
      channelId: 'C0DEPLOYS',
    });
  });

  it('accepts a bare user id as actor', () => {
    expect(
      commandAudit({
        id: 'x',
        at: at(0),
        actor: 'U0BOB',
        command: 'approve.button',
        outcome: 'accepted',
        detail: 'ok',
      }),
    ).toMatchObject({
      actor: 'slack:U0BOB',
      action: 'approve.button',
    });
  });
});
