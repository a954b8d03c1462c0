// Small builders for domain tests: one promotion of `frozen-tauntaun` to prod, event by event.
import { cardIdForRequest } from '../../src/domain/card.js';
import type { Finding, GateResult, PlanSummary, TerraformOutputs } from '../../src/artifacts/types.js';
import type {
  ArtifactProblem,
  CardEvent,
  FreightResolved,
  GateReported,
  OutputsPublished,
  PlanSummarized,
  PromotionCreated,
  PromotionPhaseChanged,
  PromotionRejected,
  PromotionRequested,
  PromotionStepChanged,
  RunJobChanged,
  RunJobStep,
  RunLinked,
  RunStatusChanged,
} from '../../src/domain/events.js';
import type { FreightSummary, PromotionPhase, StageSummary } from '../../src/domain/types.js';

export const CARD_ID = cardIdForRequest('trigger-4711');
export const PROMOTION = 'prod.01k3x9q8z5w7v2m4n6p8r0s2t4.f5f87aa';
export const FREIGHT_NAME = 'f5f87aa23c9e97f43eb83dd63768ee41f5ba3766';
export const COMMIT_SHA = '3c9e97f43eb83dd63768ee41f5ba3766f5f87aa2';

/** 2026-11-27 10:<minute> UTC. */
export const at = (minute: number): string => new Date(Date.UTC(2026, 10, 27, 10, minute)).toISOString();

export function freight(overrides: Partial<FreightSummary> = {}): FreightSummary {
  return {
    name: FREIGHT_NAME,
    alias: 'frozen-tauntaun',
    warehouse: 'infra',
    createdAt: at(0),
    commits: [
      {
        repoURL: 'https://github.com/acme/gitops-infra-pipeline.git',
        id: COMMIT_SHA,
        branch: 'main',
        message: 'Route private subnets through the NAT gateway\n\nLonger body that the card never shows.',
        author: 'Jane Doe <jane@example.com>',
      },
    ],
    currentlyIn: {},
    verifiedIn: {},
    approvedFor: {},
    ...overrides,
  };
}

export const devStage = (overrides: Partial<StageSummary> = {}): StageSummary => ({
  name: 'dev',
  requestedFreight: [{ origin: { kind: 'Warehouse', name: 'infra' }, sources: { direct: true } }],
  currentFreight: {},
  ...overrides,
});

export const prodStage = (
  sources: StageSummary['requestedFreight'][number]['sources'] = { stages: ['dev'] },
): StageSummary => ({
  name: 'prod',
  requestedFreight: [{ origin: { kind: 'Warehouse', name: 'infra' }, sources }],
  currentFreight: {},
});

export const ev = {
  requested: (minute = 0, overrides: Partial<PromotionRequested> = {}): PromotionRequested => ({
    type: 'PromotionRequested',
    id: `request:${CARD_ID}`,
    cardId: CARD_ID,
    at: at(minute),
    environment: 'prod',
    stage: 'prod',
    freightQuery: 'frozen-tauntaun',
    requestedBy: { slackUserId: 'U012ABCDEF', slackUserName: 'jane' },
    sourceChannelId: 'C0DEPLOYS',
    ...overrides,
  }),
  resolved: (minute = 0, overrides: Partial<FreightSummary> = {}): FreightResolved => ({
    type: 'FreightResolved',
    id: `resolved:${CARD_ID}`,
    cardId: CARD_ID,
    at: at(minute),
    freight: freight(overrides),
  }),
  rejected: (
    minute = 1,
    reason = 'f5f87aa (frozen-tauntaun) is not verified in dev yet',
  ): PromotionRejected => ({
    type: 'PromotionRejected',
    id: `rejected:${CARD_ID}`,
    cardId: CARD_ID,
    at: at(minute),
    code: 'chatops_freight_not_available',
    reason,
  }),
  created: (minute = 1, overrides: Partial<PromotionCreated> = {}): PromotionCreated => ({
    type: 'PromotionCreated',
    id: `created:${PROMOTION}`,
    cardId: CARD_ID,
    at: at(minute),
    promotionName: PROMOTION,
    stage: 'prod',
    freightName: FREIGHT_NAME,
    createdBy: 'kubernetes:system:serviceaccount:chatops:chatops-bot',
    project: 'infra',
    ...overrides,
  }),
  phase: (
    phase: PromotionPhase,
    minute: number,
    message?: string,
    promotionName = PROMOTION,
  ): PromotionPhaseChanged => ({
    type: 'PromotionPhaseChanged',
    id: `phase:${promotionName}:${phase}`,
    cardId: CARD_ID,
    at: at(minute),
    promotionName,
    phase,
    message,
  }),
  step: (
    alias: string,
    status: string,
    minute: number,
    index?: number,
    message?: string,
  ): PromotionStepChanged => ({
    type: 'PromotionStepChanged',
    id: `step:${PROMOTION}:${alias}:${status}`,
    cardId: CARD_ID,
    at: at(minute),
    promotionName: PROMOTION,
    alias,
    status,
    message,
    index,
  }),
  run: (
    minute = 3,
    runId = 12345,
    runUrl: string | undefined = `https://github.com/acme/gitops-infra-pipeline/actions/runs/12345`,
  ): RunLinked => ({
    type: 'RunLinked',
    id: `run:${PROMOTION}:${runId}`,
    cardId: CARD_ID,
    at: at(minute),
    runId,
    runUrl,
  }),
};

/** A whole successful promotion, in delivery order. */
export const happyPath = (): CardEvent[] => [
  ev.requested(0),
  ev.resolved(0),
  ev.created(1),
  ev.phase('Pending', 1),
  ev.phase('Running', 2),
  ev.step('dispatch', 'Running', 2, 0),
  ev.step('dispatch', 'Succeeded', 3, 0),
  ev.run(3),
  ev.step('waitRun', 'Running', 3, 1),
  ev.step('waitRun', 'Succeeded', 14, 1),
  ev.phase('Succeeded', 14),
];

/** Freezes deeply, so a reducer that mutates its input throws (ESM modules run in strict mode). */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------
// The GitHub Actions run (events as the GitHub adapter emits them)

export const RUN_ID = 12345;
export const RUN_URL = `https://github.com/acme/gitops-infra-pipeline/actions/runs/${RUN_ID}`;
export const jobUrl = (jobId: number): string => `${RUN_URL}/job/${jobId}`;

export interface StepSpec {
  name: string;
  status?: string;
  conclusion?: string;
  /** Minutes after 10:00 (fractions allowed). */
  start?: number;
  end?: number;
}

/** 2026-11-27 10:00 UTC plus fractional minutes, for step times. */
export const atMin = (minutes: number): string =>
  new Date(Date.UTC(2026, 10, 27, 10, 0) + Math.round(minutes * 60_000)).toISOString();

export const steps = (...specs: StepSpec[]): RunJobStep[] =>
  specs.map((spec, index) => ({
    number: index + 1,
    name: spec.name,
    status: spec.status ?? 'completed',
    ...(spec.conclusion !== undefined || (spec.status ?? 'completed') === 'completed'
      ? { conclusion: spec.conclusion ?? 'success' }
      : {}),
    ...(spec.start !== undefined ? { startedAt: atMin(spec.start) } : {}),
    ...(spec.end !== undefined ? { completedAt: atMin(spec.end) } : {}),
  }));

export const runEv = {
  status: (status: string, minute: number, overrides: Partial<RunStatusChanged> = {}): RunStatusChanged => ({
    type: 'RunStatusChanged',
    id: `run-status:${overrides.runId ?? RUN_ID}:${overrides.runAttempt ?? 1}:${status}:${overrides.conclusion ?? ''}`,
    cardId: CARD_ID,
    at: atMin(minute),
    runId: RUN_ID,
    runAttempt: 1,
    status,
    htmlUrl: RUN_URL,
    triggeredBy: 'kargo-bot',
    ...overrides,
  }),
  job: (
    jobId: number,
    name: string,
    status: string,
    minute: number,
    jobSteps: RunJobStep[] = [],
    overrides: Partial<RunJobChanged> = {},
  ): RunJobChanged => ({
    type: 'RunJobChanged',
    id: `job:${jobId}:${status}:${minute}`,
    cardId: CARD_ID,
    at: atMin(minute),
    runId: RUN_ID,
    jobId,
    name,
    status,
    ...(status === 'completed' ? { conclusion: 'success', completedAt: atMin(minute) } : {}),
    // GitHub's started_at is fixed for a job: the first step's start, when the event has steps.
    ...(jobSteps[0]?.startedAt ? { startedAt: jobSteps[0].startedAt } : {}),
    htmlUrl: jobUrl(jobId),
    steps: jobSteps,
    ...overrides,
  }),
  gate: (
    minute: number,
    result: Partial<GateResult> & Pick<GateResult, 'gate' | 'cloud' | 'environment'>,
  ): GateReported => ({
    type: 'GateReported',
    id: `gate:${result.gate}-${result.cloud}-${result.environment}:${result.run?.attempt ?? 1}`,
    cardId: CARD_ID,
    at: atMin(minute),
    runId: RUN_ID,
    result: {
      schemaVersion: 1,
      status: 'passed',
      enforcement: 'hard',
      findings: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
      topFindings: [],
      run: { id: RUN_ID, attempt: 1 },
      ...result,
    },
  }),
  plan: (
    minute: number,
    cloud: PlanSummary['cloud'],
    environment: PlanSummary['environment'],
    resources: Partial<PlanSummary['resources']> = {},
    overrides: Partial<PlanSummary> = {},
  ): PlanSummarized => {
    const all = { add: [], change: [], destroy: [], replace: [], ...resources };
    return {
      type: 'PlanSummarized',
      id: `plan:${cloud}-${environment}:${minute}`,
      cardId: CARD_ID,
      at: atMin(minute),
      runId: RUN_ID,
      summary: {
        schemaVersion: 1,
        cloud,
        environment,
        counts: {
          add: all.add.length,
          change: all.change.length,
          destroy: all.destroy.length,
          replace: all.replace.length,
        },
        resources: all,
        run: { id: RUN_ID, attempt: 1 },
        ...overrides,
      },
    };
  },
  outputs: (
    minute: number,
    cloud: TerraformOutputs['cloud'],
    environment: TerraformOutputs['environment'],
    values: Record<string, unknown>,
    excludedSensitive: string[] = [],
  ): OutputsPublished => ({
    type: 'OutputsPublished',
    id: `outputs:${cloud}-${environment}`,
    cardId: CARD_ID,
    at: atMin(minute),
    runId: RUN_ID,
    outputs: {
      schemaVersion: 1,
      cloud,
      environment,
      outputs: Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { value }])),
      excludedSensitive,
      run: { id: RUN_ID, attempt: 1 },
    },
  }),
  problem: (
    minute: number,
    artifact: string,
    problem: ArtifactProblem['problem'] = 'missing',
    detail = `no artifact named ${artifact} in run ${RUN_ID}`,
  ): ArtifactProblem => ({
    type: 'ArtifactProblem',
    id: `artifact-problem:${artifact}:${problem}`,
    cardId: CARD_ID,
    at: atMin(minute),
    runId: RUN_ID,
    artifact,
    problem,
    detail,
  }),
};

export const finding = (
  id: string,
  severity: Finding['severity'],
  resource?: string,
  title?: string,
): Finding => ({
  id,
  severity,
  message: title ?? `${id} finding`,
  ...(title ? { title } : {}),
  ...(resource ? { resource } : {}),
});
