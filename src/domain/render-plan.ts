// What prod will change, before anyone approves it: the plan line and its one-line risk on the card, and
// the plan details answered on demand ("Show resources", ephemeral, paged).
//
//   *Plan* — AWS prod: +3 ~3 −3 (2 replaced)                                      [Show resources]
//   ⚠️ *Risk:* replaces `aws_instance.this` (`ami` forces it), `aws_lb.web`; destroys 1: `aws_eip.old`
//
// Details list the addresses grouped by action, destroy and replace first, each resource once; under a
// replaced or updated resource, what changes in it (forcing attributes first, then short before → after
// values, then hidden ones). Values exist only where the plan-summary artifact carries them: never for
// sensitive, secret-named or unknown attributes (src/artifacts/plan-summary.ts).
import { BLOCK_KIT_LIMITS, escapeMrkdwn, fitMrkdwn, plainText } from './blockkit.js';
import type { ButtonElement, SlackMessage } from './blockkit.js';
import type { Card } from './card.js';
import { MAX_DETAILS_PAGE, PLAN_DETAILS_ACTION_ID, detailsButtonValue } from './details.js';
import { openArtifactProblems, artifactProblemSentence } from './gates.js';
import {
  PIECE,
  code,
  freightWord,
  link,
  paginate,
  pagedMessage,
  plain,
  plural,
  targetOf,
} from './render-parts.js';
import type { CardPlan, CardPlanAttribute, CardPlanChange } from './run-state.js';

const CLOUD_LABEL: Readonly<Record<string, string>> = { aws: 'AWS', gcp: 'GCP', azure: 'Azure', all: 'all' };
const CLOUD_ORDER: Readonly<Record<string, number>> = { aws: 0, gcp: 1, azure: 2 };

/** AWS first, then GCP, then Azure; within a cloud by environment. */
export const byCloud = <T extends { cloud: string; environment: string }>(list: readonly T[]): T[] =>
  [...list].sort(
    (a, b) =>
      (CLOUD_ORDER[a.cloud] ?? 9) - (CLOUD_ORDER[b.cloud] ?? 9) || a.environment.localeCompare(b.environment),
  );

export const cloudLabel = (cloud: string): string => CLOUD_LABEL[cloud] ?? cloud;

/** "AWS prod" (plain). */
export const planName = (plan: Pick<CardPlan, 'cloud' | 'environment'>): string =>
  `${cloudLabel(plan.cloud)} ${plan.environment}`;

/** "+3 ~1 −2 (1 replaced)" as Terraform counts: a replacement is one add and one destroy. */
export function planCountsText(plan: Pick<CardPlan, 'counts'>): string {
  const { add, change, destroy, replace } = plan.counts;
  if (add + change + destroy + replace === 0) return 'no changes';
  return `+${add} ~${change} −${destroy}${replace > 0 ? ` (${replace} replaced)` : ''}`;
}

export const planHasChanges = (plan: Pick<CardPlan, 'counts'>): boolean =>
  Object.values(plan.counts).some((count) => count > 0);

/** "Show resources": the plan details, ephemeral, for whoever clicks (src/worker/card-details.ts). */
export const showResourcesButton = (cardId: string): ButtonElement => ({
  type: 'button',
  action_id: PLAN_DETAILS_ACTION_ID,
  text: plainText('Show resources', BLOCK_KIT_LIMITS.buttonText),
  value: detailsButtonValue(cardId),
});

// ---------------------------------------------------------------------------------------------------
// The risk: what is destroyed or replaced

export interface PlanRisk {
  /** At least one plan summary is in. */
  known: boolean;
  /** Replaced resources the card lists, with the attributes that force each (when the plan says). */
  replaced: Array<{ address: string; forcedBy: string[] }>;
  replaceCount: number;
  /** Resources destroyed and not created again (a replacement is not counted here). */
  destroyed: string[];
  destroyCount: number;
}

export function planRisk(card: Card): PlanRisk {
  const risk: PlanRisk = {
    known: card.plans.length > 0,
    replaced: [],
    replaceCount: 0,
    destroyed: [],
    destroyCount: 0,
  };
  for (const plan of byCloud(card.plans)) {
    const replacedSet = new Set(plan.resources.replace);
    risk.replaceCount += plan.counts.replace;
    risk.destroyCount += Math.max(0, plan.counts.destroy - plan.counts.replace);
    for (const address of plan.resources.replace) {
      const change = plan.changes?.find((c) => c.address === address);
      const forcedBy = (change?.attributes ?? []).filter((a) => a.forcesReplacement).map((a) => a.path);
      risk.replaced.push({ address, forcedBy });
    }
    risk.destroyed.push(...plan.resources.destroy.filter((address) => !replacedSet.has(address)));
  }
  return risk;
}

const RISK_ADDRESSES = 3;

/**
 * The risk in one line, for the approval prompt (right before its buttons) and under the plan line:
 * `⚠️ *Risk:* replaces `aws_instance.this` (`ami` forces it); destroys 1: `aws_eip.old``.
 */
export function riskLine(card: Card): string {
  const risk = planRisk(card);
  if (!risk.known) {
    const run = card.run?.url ? ` — ${link(card.run.url, 'see the run')}` : '';
    return `⚠️ *Risk:* not known yet. The plan summary is not in yet${run}`;
  }
  if (risk.replaceCount === 0 && risk.destroyCount === 0) {
    return '✅ *Risk:* nothing is destroyed or replaced';
  }
  const parts: string[] = [];
  if (risk.replaceCount > 0) {
    const named = risk.replaced.slice(0, RISK_ADDRESSES).map(({ address, forcedBy }) => {
      const forced = forcedBy.slice(0, 2).map((path) => code(path, 60));
      return `${code(address, 120)}${forced.length > 0 ? ` (${forced.join(', ')} force${forced.length === 1 ? 's' : ''} it)` : ''}`;
    });
    parts.push(`replaces ${listWithMore(named, risk.replaceCount)}`);
  }
  if (risk.destroyCount > 0) {
    const named = risk.destroyed.slice(0, RISK_ADDRESSES).map((address) => code(address, 120));
    parts.push(
      `destroys ${risk.destroyCount.toLocaleString('en-US')}${named.length > 0 ? `: ${listWithMore(named, risk.destroyCount)}` : ''}`,
    );
  }
  return fitMrkdwn(`⚠️ *Risk:* ${parts.join('; ')}`, 1_000);
}

/** The risk as plain text for notifications ("replaces aws_instance.this; destroys 1"), or undefined. */
export function riskPlain(card: Card): string | undefined {
  const risk = planRisk(card);
  if (!risk.known || (risk.replaceCount === 0 && risk.destroyCount === 0)) return undefined;
  const parts: string[] = [];
  if (risk.replaceCount > 0) {
    const first = risk.replaced[0]?.address;
    parts.push(
      risk.replaceCount === 1 && first ? `replaces ${first}` : `replaces ${risk.replaceCount} resources`,
    );
  }
  if (risk.destroyCount > 0) parts.push(`destroys ${risk.destroyCount}`);
  return parts.join('; ');
}

function listWithMore(named: readonly string[], total: number): string {
  const more = total - named.length;
  return `${named.join(', ')}${more > 0 ? ` and ${more.toLocaleString('en-US')} more` : ''}`;
}

// ---------------------------------------------------------------------------------------------------
// Plan details (on demand, ephemeral, paged)

type Group = 'destroy' | 'replace' | 'change' | 'add';

const GROUP_TITLE: Readonly<Record<Group, [string, string]>> = {
  destroy: ['🔴 *Destroyed', ''],
  replace: ['🟠 *Replaced', ' — destroyed and created again'],
  change: ['🔵 *Changed in place', ''],
  add: ['🟢 *Created', ''],
};

const REASON_WORDS: Readonly<Record<string, string>> = {
  replace_because_cannot_update: 'cannot be updated in place',
  replace_because_tainted: 'it is tainted',
  replace_by_request: 'replacement requested (-replace)',
  replace_by_triggers: 'replace_triggered_by changed',
};

export const PLAN_FOOTER =
  'Values Terraform marks sensitive, and attributes named like secrets, are never shown. _Known after apply_ values are decided by the apply.';

/**
 * One page of the plan details: per plan, the addresses grouped by action (destroyed, replaced, changed,
 * created), each resource once, with what changes inside replaced and updated ones.
 */
export function renderPlanDetails(card: Card, page = 1): SlackMessage {
  const plans = byCloud(card.plans);
  const runUrl = card.run?.url;
  const items: string[] = [];
  for (const plan of plans) items.push(...planItems(plan, runUrl));
  const problems = openArtifactProblems(card).filter((p) => p.artifact.startsWith('plan-summary-'));
  for (const problem of problems) {
    items.push(
      `⚠️ ${plain(artifactProblemSentence(problem), 400)} — _${plain(problem.detail, PIECE.problemDetail)}_`,
    );
  }
  if (plans.length === 0 && problems.length === 0) {
    items.push('_No plan summary has been published for this promotion yet._');
  }
  const freight = freightWord(card);
  const summary =
    plans.length > 0
      ? plans.map((plan) => `${planName(plan)} ${planCountsText(plan)}`).join(', ')
      : 'not published yet';
  return pagedMessage({
    title: `Plan · ${targetOf(card)}`,
    text: `Plan for ${targetOf(card)}${freight ? ` (${freight})` : ''}: ${summary}`,
    page: paginate(items, page, {
      maxPages: MAX_DETAILS_PAGE,
      overflow: (hidden) =>
        `… and ${plural(hidden, 'more line')} — ${link(runUrl, 'the run')} has the whole plan`,
    }),
    cardId: card.id,
    actionId: PLAN_DETAILS_ACTION_ID,
    footer: plans.length > 0 ? [PLAN_FOOTER] : [],
  });
}

function planItems(plan: CardPlan, runUrl: string | undefined): string[] {
  const items = [`*${escapeMrkdwn(planName(plan))}* · ${planCountsText(plan)}`];
  if (!planHasChanges(plan)) return items;
  const replaced = new Set(plan.resources.replace);
  const counts: Record<Group, number> = {
    destroy: Math.max(0, plan.counts.destroy - plan.counts.replace),
    replace: plan.counts.replace,
    change: plan.counts.change,
    add: Math.max(0, plan.counts.add - plan.counts.replace),
  };
  const listed: Record<Group, string[]> = {
    destroy: plan.resources.destroy.filter((a) => !replaced.has(a)),
    replace: plan.resources.replace,
    change: plan.resources.change,
    add: plan.resources.add.filter((a) => !replaced.has(a)),
  };
  if (plan.counts.replace > 0) {
    items.push(
      '_Terraform counts a replacement as one add and one destroy; here each resource is listed once._',
    );
  }
  for (const group of ['destroy', 'replace', 'change', 'add'] as const) {
    if (counts[group] === 0) continue;
    const [title, note] = GROUP_TITLE[group];
    items.push(`${title} (${counts[group].toLocaleString('en-US')})*${note}`);
    for (const address of listed[group]) {
      const change =
        group === 'replace' || group === 'change'
          ? plan.changes?.find((c) => c.address === address)
          : undefined;
      items.push(resourceItem(address, change));
    }
    const unlisted = counts[group] - listed[group].length;
    if (unlisted > 0) {
      items.push(
        `… and ${unlisted.toLocaleString('en-US')} more not listed here — ${link(runUrl, 'see the run')}`,
      );
    }
  }
  if (plan.changes === undefined && plan.counts.replace + plan.counts.change > 0) {
    items.push(
      '_What changes inside these resources is not in this plan summary (a workflow older than that published it)._',
    );
  } else if ((plan.changesOmitted ?? 0) > 0) {
    items.push(
      `_What changes inside ${plural(plan.changesOmitted ?? 0, 'more resource')} is only in the plan — ${link(runUrl, 'see the run')}_`,
    );
  } else if (plan.changes?.length === 0 && plan.counts.replace + plan.counts.change > 0) {
    items.push('_No attribute changes were reported for these resources._');
  }
  return items;
}

/** `• `address` — _cannot be updated in place_` and, indented, what changes in it. */
function resourceItem(address: string, change: CardPlanChange | undefined): string {
  const reason = change?.reason
    ? ` — _${plain(REASON_WORDS[change.reason] ?? change.reason.replace(/_/g, ' '), 80)}_`
    : '';
  const lines = [`• ${code(address, PIECE.address)}${reason}`];
  if (!change) return lines.join('\n');
  const unknown = change.attributes.filter((a) => a.hidden === 'unknown' && !a.forcesReplacement);
  for (const attribute of change.attributes) {
    if (attribute.hidden === 'unknown' && !attribute.forcesReplacement) continue;
    lines.push(`      ${attributeLine(attribute)}`);
  }
  if (unknown.length > 0) {
    const names = unknown.slice(0, 6).map((a) => code(a.path, 80));
    const more = unknown.length - names.length;
    lines.push(`      _known after apply:_ ${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
  }
  if ((change.attributesOmitted ?? 0) > 0) {
    lines.push(`      _… and ${plural(change.attributesOmitted ?? 0, 'more changed attribute')}_`);
  }
  return lines.join('\n');
}

function attributeLine(attribute: CardPlanAttribute): string {
  const name = code(attribute.path, 120);
  const forces = attribute.forcesReplacement ? ' · *forces replacement*' : '';
  if (attribute.hidden === 'sensitive') return `${name}: _sensitive, not shown_${forces}`;
  if (attribute.hidden === 'unknown') return `${name}: _known after apply_${forces}`;
  if (attribute.before === undefined || attribute.after === undefined) return `${name}: _changed_${forces}`;
  return `${name}: ${code(attribute.before, 110)} → ${code(attribute.after, 110)}${forces}`;
}

/** The plan line on the card: counts per plan, and the risk under it when something is destroyed. */
export function planLineText(card: Card, withRisk: boolean): string {
  const plans = byCloud(card.plans);
  const line = `*Plan* — ${plans.map((plan) => `${escapeMrkdwn(planName(plan))}: ${planCountsText(plan)}`).join(' · ')}`;
  const risk = planRisk(card);
  const risky = risk.replaceCount + risk.destroyCount > 0;
  return fitMrkdwn(withRisk && risky ? `${line}\n${riskLine(card)}` : line, BLOCK_KIT_LIMITS.sectionText);
}
