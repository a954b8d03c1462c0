// Freight availability, replicating Kargo's Stage.IsFreightAvailable (kargo-api.md §4, Kargo 1.11):
//
//   for req in stage.spec.requestedFreight where req.origin == freight.origin:
//       approvedFor[stage]             -> available
//       req.sources.direct             -> available
//       All   -> available iff every upstream stage is ok
//       OneOf -> available iff some upstream stage is ok
//   not available
//   ok(up) = verifiedIn[up] && soaked(up); soaked = no requiredSoakTime, or
//            max(longestSoak[up], now - currentlyIn[up].since) >= requiredSoakTime
//
// Kargo answers yes/no; the bot also has to say *why not* in a Slack reply, so a refusal carries a
// structured `blocker` and a sentence built from it.
import { formatDuration, parseGoDuration } from './duration.js';
import { freightLabel, humanList } from './format.js';
import type { FreightSummary, StageSummary } from './types.js';

export type AvailabilityVia = 'approved' | 'direct' | 'upstream';

/** Why a freight cannot go to a stage, in a form both the long reason and the short one derive from. */
export type Blocker =
  /** The stage requests no freight from the warehouse this freight came from. */
  | { kind: 'origin'; freightWarehouse: string; acceptedWarehouses: string[] }
  /** Not verified upstream: `missing` lists the stages still needed (all of them for OneOf). */
  | { kind: 'unverified'; missing: string[]; strategy: 'OneOf' | 'All' }
  /** Verified and still deployed upstream: the soak clock runs and will make it available. */
  | { kind: 'soaking'; stage: string; remainingMs: number; requiredMs: number }
  /** Verified, but left the upstream stage(s) before soaking long enough: it will not get there alone. */
  | { kind: 'soak-interrupted'; stages: string[]; requiredMs: number }
  /** The stage's requiredSoakTime does not parse (Kargo's CRD pattern forbids this; we refuse rather than guess). */
  | { kind: 'invalid-soak-time'; value: string }
  /** Neither direct nor upstream stages: nothing can reach this stage (the CRD forbids this too). */
  | { kind: 'no-sources' };

export type Availability =
  { available: true; via: AvailabilityVia } | { available: false; reason: string; blocker: Blocker };

type RequestedFreight = StageSummary['requestedFreight'][number];

interface UpstreamSoak {
  stage: string;
  verified: boolean;
  /** Whether the freight is deployed there now, i.e. its soak clock is running. */
  deployed: boolean;
  soakedMs: number;
}

export function isFreightAvailable(stage: StageSummary, freight: FreightSummary, now: Date): Availability {
  // Kargo 1.11 (#6562): an approval counts only within a matching origin, so the origin comes first.
  const request = stage.requestedFreight.find((req) => originMatches(req, freight));
  if (!request) return refuse(stage, freight, originBlocker(stage, freight));
  if (freight.approvedFor[stage.name]) return { available: true, via: 'approved' };
  if (request.sources.direct) return { available: true, via: 'direct' };

  const requiredText = request.sources.requiredSoakTime;
  const requiredMs = requiredText ? parseGoDuration(requiredText) : 0;
  if (requiredMs === undefined) {
    return refuse(stage, freight, { kind: 'invalid-soak-time', value: requiredText ?? '' });
  }
  const upstreams = (request.sources.stages ?? []).map((up) => upstreamSoak(freight, up, now));
  const ok = (up: UpstreamSoak): boolean => up.verified && up.soakedMs >= requiredMs;
  const strategy = request.sources.availabilityStrategy === 'All' ? 'All' : 'OneOf';
  // Exactly Kargo's arithmetic: `All` over an empty list is true, `OneOf` over it is false.
  const available = strategy === 'All' ? upstreams.every(ok) : upstreams.some(ok);
  if (available) return { available: true, via: 'upstream' };
  return refuse(stage, freight, upstreamBlocker(upstreams, strategy, requiredMs));
}

function originMatches(request: RequestedFreight, freight: FreightSummary): boolean {
  return request.origin.kind === 'Warehouse' && request.origin.name === freight.warehouse;
}

function originBlocker(stage: StageSummary, freight: FreightSummary): Blocker {
  return {
    kind: 'origin',
    freightWarehouse: freight.warehouse,
    acceptedWarehouses: stage.requestedFreight.map((req) => req.origin.name),
  };
}

function upstreamSoak(freight: FreightSummary, stage: string, now: Date): UpstreamSoak {
  const verification = freight.verifiedIn[stage];
  const deployment = freight.currentlyIn[stage];
  const longestMs = parseGoDuration(verification?.longestSoak ?? '') ?? 0;
  const since = deployment?.since ? Date.parse(deployment.since) : Number.NaN;
  // A clock skewed into the future must not produce negative soak time.
  const currentMs = Number.isNaN(since) ? 0 : Math.max(0, now.getTime() - since);
  return {
    stage,
    verified: verification !== undefined,
    deployed: deployment !== undefined,
    soakedMs: Math.max(longestMs, currentMs),
  };
}

/** Picks the most useful explanation among upstream stages that did not qualify. */
function upstreamBlocker(upstreams: UpstreamSoak[], strategy: 'OneOf' | 'All', requiredMs: number): Blocker {
  if (upstreams.length === 0) return { kind: 'no-sources' };
  const unverified = upstreams.filter((up) => !up.verified).map((up) => up.stage);
  const verified = upstreams.filter((up) => up.verified);
  // OneOf: any verified stage can still get there by soaking, so only report verification when none is.
  // All: every unverified stage blocks, whatever the soak clocks say.
  if (strategy === 'All' ? unverified.length > 0 : verified.length === 0) {
    return { kind: 'unverified', missing: unverified, strategy };
  }
  const unsoaked = verified.filter((up) => up.soakedMs < requiredMs);
  const soaking = unsoaked.filter((up) => up.deployed);
  const stalled = unsoaked.filter((up) => !up.deployed);
  // With All a single stalled stage blocks for good; with OneOf only if no clock runs anywhere.
  if (stalled.length > 0 && (strategy === 'All' || soaking.length === 0)) {
    return { kind: 'soak-interrupted', stages: stalled.map((up) => up.stage), requiredMs };
  }
  const remaining = soaking.map((up) => ({ stage: up.stage, remainingMs: requiredMs - up.soakedMs }));
  // OneOf: the first clock to finish decides; All: the last one does.
  remaining.sort((a, b) =>
    strategy === 'All' ? b.remainingMs - a.remainingMs : a.remainingMs - b.remainingMs,
  );
  const decisive = remaining[0];
  if (!decisive) return { kind: 'no-sources' }; // unreachable: some stage was not ok, so one of the above applies
  return { kind: 'soaking', stage: decisive.stage, remainingMs: decisive.remainingMs, requiredMs };
}

function refuse(stage: StageSummary, freight: FreightSummary, blocker: Blocker): Availability {
  return { available: false, reason: explainBlocker(blocker, stage.name, freight), blocker };
}

/** A full sentence for Slack: `f5f87aa (frozen-tauntaun) is not verified in dev yet`. */
/**
 * The freight the stage would take next: the first available one of `freight` (newest first, as the cache
 * lists it) that the stage does not run already. What releasing Kargo's auto-promotion hold promotes.
 */
export function newestCandidate(
  stage: StageSummary,
  freight: readonly FreightSummary[],
  now: Date,
): FreightSummary | undefined {
  const current = Object.values(stage.currentFreight)[0];
  const candidate = freight.find((f) => isFreightAvailable(stage, f, now).available);
  return candidate && candidate.name !== current ? candidate : undefined;
}

export function explainBlocker(
  blocker: Blocker,
  stageName: string,
  freight: { name: string; alias?: string },
): string {
  const label = freightLabel(freight);
  switch (blocker.kind) {
    case 'origin':
      return blocker.acceptedWarehouses.length === 0
        ? `${stageName} does not request any freight, so ${label} cannot be promoted there`
        : `${label} comes from warehouse ${blocker.freightWarehouse}, but ${stageName} only takes freight from ` +
            `warehouse ${humanList(blocker.acceptedWarehouses, 'or')}`;
    case 'unverified':
      if (blocker.strategy === 'All' && blocker.missing.length > 0) {
        return `${label} is not verified in ${humanList(blocker.missing, 'and')} yet (${stageName} needs it verified in every upstream stage)`;
      }
      return `${label} is not verified in ${humanList(blocker.missing, 'or')} yet`;
    case 'soaking':
      return (
        `${label} is soaking in ${blocker.stage}: ${formatDuration(blocker.remainingMs)} left of the ` +
        `${formatDuration(blocker.requiredMs)} ${stageName} requires`
      );
    case 'soak-interrupted':
      return (
        `${label} left ${humanList(blocker.stages, 'and')} before soaking ${formatDuration(blocker.requiredMs)} ` +
        `there, which ${stageName} requires; promote it there again or approve it for ${stageName}`
      );
    case 'invalid-soak-time':
      return `${stageName} has an invalid requiredSoakTime "${blocker.value}", so no upstream freight is available to it`;
    case 'no-sources':
      return `${stageName} takes freight neither directly nor from an upstream stage, so ${label} cannot reach it`;
  }
}

/** A few words for a table cell (`/freight`): "needs verification in dev", "soaking: 20m left". */
export function summarizeBlocker(blocker: Blocker): string {
  switch (blocker.kind) {
    case 'origin':
      return 'from another warehouse';
    case 'unverified':
      return `needs verification in ${humanList(blocker.missing, blocker.strategy === 'All' ? 'and' : 'or')}`;
    case 'soaking':
      return `soaking: ${formatDuration(blocker.remainingMs)} left`;
    case 'soak-interrupted':
      return `left ${humanList(blocker.stages, 'and')} before soaking ${formatDuration(blocker.requiredMs)}`;
    case 'invalid-soak-time':
      return 'invalid requiredSoakTime';
    case 'no-sources':
      return 'no freight sources';
  }
}
