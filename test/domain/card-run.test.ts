// The reducer for the GitHub Actions run: each new event once effective, once a no-op (duplicate, stale,
// someone else's run), plus delivery-order properties over the story runs.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { applyEvent, foldEvents, type Card } from '../../src/domain/card.js';
import type { CardEvent } from '../../src/domain/events.js';
import { gateChecklist } from '../../src/domain/gates.js';
import { RUN_LIMITS } from '../../src/domain/run-state.js';
import { RUN_URL, atMin, deepFreeze, ev, finding, jobUrl, runEv, steps } from './builders.js';
import {
  JOB_ID,
  JOB_NAME,
  cancelledProdRun,
  failingTrivyProdRun,
  missingArtifactRun,
  passingDevRun,
} from './run-stories.js';

const fold = (...events: CardEvent[]): Card => {
  const card = foldEvents(events);
  if (!card) throw new Error('no card');
  return card;
};

const base = (): Card => fold(ev.requested(0), ev.created(1), ev.phase('Running', 2), ev.run(3));

/** Asserts the event changes the card by exactly one version and that applying it again changes nothing. */
function effective(card: Card, event: CardEvent): Card {
  const next = applyEvent(card, event);
  expect(next).not.toBe(card);
  expect(next.version).toBe(card.version + 1);
  expect(applyEvent(next, event)).toBe(next);
  expect(applyEvent(next, { ...event, id: `${event.id}:redelivered` })).toBe(next);
  return next;
}

describe('applyEvent: RunStatusChanged', () => {
  it('records the run status, attempt, URL and who triggered it', () => {
    const card = effective(base(), runEv.status('in_progress', 4));
    expect(card.run).toEqual({
      id: 12345,
      url: RUN_URL,
      attempt: 1,
      status: 'in_progress',
      triggeredBy: 'kargo-bot',
      statusAt: atMin(4),
    });
    expect(card.timeline.at(-1)?.summary).toBe('GitHub run #12345 in progress');
    expect(card.phase).toBe('Running');
  });

  it('records the conclusion once completed', () => {
    const card = effective(
      fold(ev.created(1), runEv.status('in_progress', 4)),
      runEv.status('completed', 9, { conclusion: 'failure' }),
    );
    expect(card.run).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(card.timeline.at(-1)?.summary).toBe('GitHub run #12345 completed: failure');
  });

  it('ignores a late in_progress after completed (stale)', () => {
    const card = fold(ev.created(1), runEv.status('completed', 9, { conclusion: 'success' }));
    expect(applyEvent(card, runEv.status('in_progress', 4))).toBe(card);
    expect(applyEvent(card, runEv.status('queued', 3))).toBe(card);
  });

  it('moves between equal ranks by event time: waiting (approval) then in_progress', () => {
    const waiting = fold(ev.created(1), runEv.status('waiting', 10));
    const resumed = effective(waiting, runEv.status('in_progress', 15));
    expect(resumed.run?.status).toBe('in_progress');
    expect(applyEvent(resumed, { ...runEv.status('waiting', 10), id: 'late-waiting' })).toBe(resumed);
  });

  it('ignores another run and never touches a Rejected card', () => {
    const card = base();
    expect(applyEvent(card, runEv.status('in_progress', 4, { runId: 999 }))).toBe(card);
    const rejected = fold(ev.requested(0), ev.rejected(1));
    expect(applyEvent(rejected, runEv.status('in_progress', 4))).toBe(rejected);
  });

  it('starts over on a new attempt; news from the old one changes nothing', () => {
    const failed = fold(ev.created(1), runEv.status('completed', 9, { conclusion: 'failure' }));
    const rerun = effective(
      failed,
      runEv.status('in_progress', 20, { runAttempt: 2, triggeredBy: 'octocat' }),
    );
    expect(rerun.run).toMatchObject({ attempt: 2, status: 'in_progress', triggeredBy: 'octocat' });
    expect(rerun.run).not.toHaveProperty('conclusion');
    expect(applyEvent(rerun, { ...runEv.status('completed', 9, { conclusion: 'failure' }), id: 'old' })).toBe(
      rerun,
    );
  });

  it('adopts the run when the status arrives before the link', () => {
    const card = fold(ev.created(1), runEv.status('queued', 3), ev.run(3));
    expect(card.run).toMatchObject({ id: 12345, url: RUN_URL, status: 'queued' });
  });
});

describe('applyEvent: RunJobChanged', () => {
  const policy = (status: string, minute: number, jobSteps = steps({ name: 'Set up job', start: 3 })) =>
    runEv.job(JOB_ID.policy, JOB_NAME.policy, status, minute, jobSteps);

  it('adds the job with its steps and link', () => {
    const card = effective(base(), policy('in_progress', 4));
    expect(card.jobs).toEqual([
      {
        id: JOB_ID.policy,
        name: JOB_NAME.policy,
        status: 'in_progress',
        startedAt: atMin(3),
        url: jobUrl(JOB_ID.policy),
        statusAt: atMin(4),
        steps: [
          { number: 1, name: 'Set up job', status: 'completed', conclusion: 'success', startedAt: atMin(3) },
        ],
      },
    ]);
    expect(card.timeline.at(-1)?.summary).toBe(`Job ${JOB_NAME.policy} in progress`);
  });

  it('handles completed before in_progress: the late in_progress changes nothing', () => {
    const done = fold(
      ev.created(1),
      ev.run(3),
      policy(
        'completed',
        5,
        steps(
          { name: 'Set up job', start: 3, end: 3.1 },
          {
            name: 'OPA (opa fmt, opa check --strict, opa test + coverage, conftest verify)',
            start: 3.5,
            end: 4,
          },
        ),
      ),
    );
    const late = policy(
      'in_progress',
      4,
      steps(
        { name: 'Set up job', start: 3, end: 3.1 },
        { name: 'OPA (…)', status: 'in_progress', start: 3.5 },
      ),
    );
    expect(applyEvent(done, late)).toBe(done);
    expect(done.jobs[0]).toMatchObject({ status: 'completed', conclusion: 'success' });
    expect(done.jobs[0]?.steps.map((s) => s.status)).toEqual(['completed', 'completed']);
  });

  it('merges steps by number as they progress', () => {
    const first = fold(
      ev.created(1),
      ev.run(3),
      policy(
        'in_progress',
        4,
        steps(
          { name: 'Set up job', start: 3, end: 3.1 },
          { name: 'OPA (x)', status: 'in_progress', start: 3.5 },
        ),
      ),
    );
    const second = effective(
      first,
      runEv.job(JOB_ID.policy, JOB_NAME.policy, 'in_progress', 4.5, [
        { number: 2, name: 'OPA (x)', status: 'completed', conclusion: 'success', completedAt: atMin(4) },
      ]),
    );
    expect(second.jobs[0]?.steps).toEqual([
      {
        number: 1,
        name: 'Set up job',
        status: 'completed',
        conclusion: 'success',
        startedAt: atMin(3),
        completedAt: atMin(3.1),
      },
      {
        number: 2,
        name: 'OPA (x)',
        status: 'completed',
        conclusion: 'success',
        startedAt: atMin(3.5),
        completedAt: atMin(4),
      },
    ]);
  });

  it('remembers when a job started waiting for approval, whatever the order', () => {
    const waiting = runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'waiting', 10);
    const running = runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'in_progress', 15);
    const a = fold(ev.created(1), ev.run(3), waiting, running);
    const b = fold(ev.created(1), ev.run(3), running, waiting);
    expect(a.jobs).toEqual(b.jobs);
    expect(a.jobs[0]).toMatchObject({ status: 'in_progress', waitingAt: atMin(10) });
  });

  it('derives the first failed job and its first failed step', () => {
    const card = effective(
      base(),
      runEv.job(
        JOB_ID.aws,
        JOB_NAME.aws('prod'),
        'completed',
        8,
        steps({ name: 'terraform fmt' }, { name: 'Fail on a failed hard gate', conclusion: 'failure' }),
        { conclusion: 'failure' },
      ),
    );
    expect(card.failedJob).toEqual({
      name: 'aws gates (prod)',
      jobId: JOB_ID.aws,
      step: 'Fail on a failed hard gate',
      url: jobUrl(JOB_ID.aws),
      conclusion: 'failure',
    });
    // A job that failed earlier is "the first".
    const earlier = applyEvent(
      card,
      runEv.job(JOB_ID.policy, JOB_NAME.policy, 'completed', 6, [], { conclusion: 'timed_out' }),
    );
    expect(earlier.failedJob).toMatchObject({ name: JOB_NAME.policy, conclusion: 'timed_out' });
    expect(earlier.failedJob).not.toHaveProperty('step');
  });

  it('falls back to the run link for a failed job without one', () => {
    const card = fold(
      ev.created(1),
      ev.run(3),
      runEv.job(JOB_ID.aws, JOB_NAME.aws('prod'), 'completed', 8, [], {
        conclusion: 'failure',
        htmlUrl: 'javascript:alert(1)',
      }),
    );
    expect(card.failedJob?.url).toBe(RUN_URL);
  });

  it('keeps the job list and each step list bounded', () => {
    let card = base();
    for (let id = 1; id <= RUN_LIMITS.jobs + 5; id += 1)
      card = applyEvent(card, runEv.job(id, `job ${id}`, 'queued', 4));
    expect(card.jobs).toHaveLength(RUN_LIMITS.jobs);
    const many = Array.from({ length: 1000 }, (_, i) => ({
      number: i + 1,
      name: 'x'.repeat(5000),
      status: 'queued',
    }));
    const big = applyEvent(base(), runEv.job(1, 'y'.repeat(10_000), 'queued', 4, many));
    expect(big.jobs[0]?.steps).toHaveLength(RUN_LIMITS.stepsPerJob);
    expect(big.jobs[0]?.name.length).toBeLessThanOrEqual(RUN_LIMITS.jobName);
    expect(JSON.stringify(big).length).toBeLessThan(40_000);
  });
});

describe('applyEvent: GateReported', () => {
  const trivy = (attempt: number, status: 'passed' | 'failed', minute = 8) =>
    runEv.gate(minute, {
      gate: 'trivy',
      cloud: 'aws',
      environment: 'prod',
      status,
      run: { id: 12345, attempt },
    });

  it('stores one result per gate, cloud and environment', () => {
    const card = effective(base(), trivy(1, 'failed'));
    expect(card.gateReports).toEqual([
      expect.objectContaining({
        gate: 'trivy',
        cloud: 'aws',
        environment: 'prod',
        status: 'failed',
        attempt: 1,
      }),
    ]);
    expect(card.timeline.at(-1)?.summary).toBe('Gate trivy (aws prod): failed');
  });

  it('lets a higher attempt replace it, never a lower one', () => {
    const first = fold(ev.created(1), ev.run(3), trivy(1, 'failed'));
    const second = effective(first, { ...trivy(2, 'passed', 20), id: 'gate-attempt-2' });
    expect(second.gateReports[0]).toMatchObject({ status: 'passed', attempt: 2 });
    expect(applyEvent(second, { ...trivy(1, 'failed', 30), id: 'late-attempt-1' })).toBe(second);
  });

  it('bounds findings and their text', () => {
    const huge = 'h'.repeat(100_000);
    const card = applyEvent(
      base(),
      runEv.gate(8, {
        gate: 'trivy',
        cloud: 'aws',
        environment: 'prod',
        status: 'failed',
        summary: huge,
        findings: { critical: 1e6, high: -3, medium: Number.NaN, low: 0, unknown: 0 },
        topFindings: Array.from({ length: 500 }, (_, i) => finding(`ID-${i}`, 'CRITICAL', huge, huge)),
      }),
    );
    const report = card.gateReports[0];
    expect(report?.topFindings).toHaveLength(RUN_LIMITS.topFindingsPerReport);
    expect(report?.findings).toEqual({ critical: 1e6, high: 0, medium: 0, low: 0, unknown: 0 });
    // Messages are kept whole up to the artifact's own cap (1,000), the rest at 300.
    expect(report?.topFindings[0]?.message.length).toBeGreaterThan(RUN_LIMITS.findingMessage - 5);
    expect(report?.topFindings[0]?.message.length).toBeLessThanOrEqual(RUN_LIMITS.findingMessage);
    expect(report?.topFindings[0]?.title?.length).toBeLessThanOrEqual(RUN_LIMITS.findingText);
    expect(JSON.stringify(card).length).toBeLessThan(50_000);
  });
});

describe('applyEvent: PlanSummarized', () => {
  it('stores counts and addresses, bounded, counts exact', () => {
    const addresses = Array.from({ length: 5000 }, (_, i) => `aws_instance.web[${i}]`);
    const card = effective(
      base(),
      runEv.plan(8, 'aws', 'prod', { add: addresses, destroy: ['aws_eip.old'] }),
    );
    expect(card.plans[0]).toMatchObject({
      cloud: 'aws',
      environment: 'prod',
      counts: { add: 5000, change: 0, destroy: 1, replace: 0 },
      truncated: true,
    });
    expect(card.plans[0]?.resources.add).toHaveLength(RUN_LIMITS.planAddressesPerAction);
    expect(card.timeline.at(-1)?.summary).toBe('Plan aws prod: +5000 ~0 −1');
  });

  it('keeps what changes inside resources, bounded; a hidden attribute never keeps a value', () => {
    const attributes = Array.from({ length: 30 }, (_, i) => ({ path: `a${i}`, before: '1', after: '2' }));
    const changes = [
      {
        address: 'aws_db_instance.main',
        action: 'update' as const,
        attributes: [
          // Not what the converter writes (the schema refuses it), but a card must not show it either.
          { path: 'password', hidden: 'sensitive' as const, before: '"hunter2"', after: '"hunter3"' },
          { path: 'instance_class', before: '"db.t3.micro"', after: '"db.t3.small"' },
        ],
      },
      ...Array.from({ length: 70 }, (_, i) => ({
        address: `aws_route.r${i}`,
        action: 'replace' as const,
        attributes,
      })),
    ];
    const card = effective(
      base(),
      runEv.plan(8, 'aws', 'prod', { change: ['aws_db_instance.main'] }, { changes, changesOmitted: 5 }),
    );
    const plan = card.plans[0];
    expect(plan?.changes?.[0]).toEqual({
      address: 'aws_db_instance.main',
      action: 'update',
      attributes: [
        { path: 'password', hidden: 'sensitive' },
        { path: 'instance_class', before: '"db.t3.micro"', after: '"db.t3.small"' },
      ],
    });
    expect(plan?.changes).toHaveLength(RUN_LIMITS.planChanges);
    expect(plan?.changesOmitted).toBe(5 + 71 - RUN_LIMITS.planChanges);
    expect(plan?.changes?.[1]?.attributes).toHaveLength(RUN_LIMITS.planAttributes);
    expect(plan?.changes?.[1]?.attributesOmitted).toBe(30 - RUN_LIMITS.planAttributes);
    expect(JSON.stringify(card)).not.toContain('hunter');
  });

  it('an artifact without attribute changes leaves them unknown, not empty', () => {
    const card = effective(base(), runEv.plan(8, 'aws', 'prod', { add: ['a.b'] }));
    expect(card.plans[0]?.changes).toBeUndefined();
  });

  it('lets the applied plan replace the preview (later wins), not the other way', () => {
    const preview = runEv.plan(6, 'aws', 'prod', { add: ['a.b'] });
    const applied = runEv.plan(20, 'aws', 'prod', { add: ['a.b', 'c.d'] });
    const card = fold(ev.created(1), ev.run(3), applied, preview);
    expect(card.plans[0]?.counts.add).toBe(2);
  });
});

describe('applyEvent: OutputsPublished', () => {
  it('keeps outputs as display strings, bounded', () => {
    const card = effective(
      base(),
      runEv.outputs(
        14,
        'aws',
        'dev',
        { instance_id: 'i-0abc', tags: { a: 1 }, blob: 'x'.repeat(2_000_000) },
        ['db_password'],
      ),
    );
    expect(card.outputs[0]?.entries.slice(0, 2)).toEqual([
      { name: 'instance_id', value: 'i-0abc' },
      { name: 'tags', value: '{"a":1}' },
    ]);
    expect(card.outputs[0]?.entries[2]?.value.length).toBeLessThanOrEqual(RUN_LIMITS.outputValue);
    expect(card.outputs[0]?.excludedSensitive).toEqual(['db_password']);
    expect(card.timeline.at(-1)?.summary).toBe('Terraform outputs aws dev: 3 outputs');
  });

  it('keeps at most RUN_LIMITS.outputsPerSet and counts the rest', () => {
    const values = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`out_${i}`, i]));
    const card = applyEvent(base(), runEv.outputs(14, 'aws', 'dev', values));
    expect(card.outputs[0]?.entries).toHaveLength(RUN_LIMITS.outputsPerSet);
    expect(card.outputs[0]?.omitted).toBe(30);
  });
});

describe('applyEvent: ArtifactProblem', () => {
  it('records the problem as a sentence on the timeline', () => {
    const card = effective(base(), runEv.problem(15, 'plan-summary-aws-dev', 'missing'));
    expect(card.artifactProblems).toEqual([
      {
        artifact: 'plan-summary-aws-dev',
        problem: 'missing',
        detail: 'no artifact named plan-summary-aws-dev in run 12345',
        at: atMin(15),
      },
    ]);
    expect(card.timeline.at(-1)?.summary).toBe(
      'plan-summary-aws-dev is missing: the plan could not be summarised',
    );
  });

  it('keeps the list bounded', () => {
    let card = base();
    for (let i = 0; i < 50; i += 1)
      card = applyEvent(card, runEv.problem(15, `gate-x${i}-aws-dev`, 'malformed', 'y'.repeat(10_000)));
    expect(card.artifactProblems).toHaveLength(RUN_LIMITS.artifactProblems);
    expect(card.artifactProblems[0]?.detail.length).toBeLessThanOrEqual(RUN_LIMITS.problemDetail);
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties over the story runs

const STORIES: Record<string, () => CardEvent[]> = {
  passingDevRun,
  failingTrivyProdRun,
  missingArtifactRun,
  cancelledProdRun,
};

/** Every event at least once, in any order, some of them again anywhere. */
const deliveries = (events: CardEvent[]) =>
  fc
    .tuple(
      fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
      fc.array(fc.tuple(fc.nat({ max: events.length - 1 }), fc.nat()), { maxLength: events.length }),
    )
    .map(([shuffled, duplicates]) => {
      const delivered = [...shuffled];
      for (const [which, where] of duplicates) {
        const event = events[which];
        if (event) delivered.splice(where % (delivered.length + 1), 0, event);
      }
      return delivered;
    });

const runOutcome = (card: Card) => ({
  phase: card.phase,
  run: card.run,
  jobs: card.jobs,
  failedJob: card.failedJob,
  gateReports: card.gateReports,
  plans: card.plans,
  outputs: card.outputs,
  artifactProblems: card.artifactProblems,
  checklist: gateChecklist(card),
});

describe('properties: the run', () => {
  it.each(Object.keys(STORIES))(
    '%s: any delivery order with duplicates ends where in-order delivery ends',
    (name) => {
      const events = (STORIES[name] as () => CardEvent[])();
      const inOrder = runOutcome(fold(...events));
      fc.assert(
        fc.property(deliveries(events), (delivered) => {
          expect(runOutcome(fold(...delivered))).toEqual(inOrder);
        }),
        { numRuns: 150 },
      );
    },
  );

  it.each(Object.keys(STORIES))(
    '%s: applying any event twice equals once; version counts effective events',
    (name) => {
      const events = (STORIES[name] as () => CardEvent[])();
      fc.assert(
        fc.property(fc.subarray(events), fc.constantFrom(...events), (prefix, event) => {
          const once = applyEvent(foldEvents(prefix), event);
          expect(applyEvent(once, event)).toBe(once);
          expect(applyEvent(once, { ...event, id: `${event.id}:again` })).toBe(once);
        }),
        { numRuns: 150 },
      );
    },
  );

  it('never mutates the card or the events', () => {
    for (const story of Object.values(STORIES)) {
      const events = story().map(deepFreeze);
      expect(() => fold(...events)).not.toThrow();
    }
  });
});
