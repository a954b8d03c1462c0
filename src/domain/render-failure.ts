// Failure cards (and the #infra-alerts alert) lead with the failure, in words an engineer acts on:
//
//   ❌ *Why it failed:* <job|*AWS · Trivy*> found 2 critical · 3 high                  [Show all findings]
//   • *CRITICAL* on `aws_security_group.web` — Security group rule allows ingress from public internet
//         *Fix:* <https://avd.aquasec.com/misconfig/avd-aws-0107|how to fix AVD-AWS-0107>
//   • *HIGH* on `aws_security_group.ssh` — ingress allows SSH (22) from every public IPv4 address
//         *Fix:* restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager
//   … and 3 more findings (Show all findings)
//   *Do now:* fix the findings in `terraform/aws/prod`, push, and promote the new freight.
//
// The failed gate comes from the checklist (gates.ts); the findings, their resource and fix from the
// gate-result artifacts (findings.ts). Kargo's own wording (`step "waitRun": HTTP (200) response met
// failure criteria`) is kept for the end of the card; when nothing better is known it is translated here.
// "Show all findings" answers with every finding and whole policy message, ephemerally, paged.
import { BLOCK_KIT_LIMITS, escapeMrkdwn, fitMrkdwn, plainText, sectionBlock } from './blockkit.js';
import type { ButtonElement, SectionBlock, SlackMessage } from './blockkit.js';
import type { Card } from './card.js';
import { FINDINGS_DETAILS_ACTION_ID, MAX_DETAILS_PAGE, detailsButtonValue } from './details.js';
import { explainFinding } from './findings.js';
import type { ExplainedFinding } from './findings.js';
import { GATE_TABLE, gateChecklist, runEnvironment } from './gates.js';
import type { GateRow, GateRowStatus, RunEnvironment } from './gates.js';
import {
  PIECE,
  code,
  fitSections,
  link,
  paginate,
  pagedMessage,
  plain,
  plural,
  targetOf,
} from './render-parts.js';
import { totalFindings } from './run-state.js';
import type { Finding, FindingCounts } from '../artifacts/types.js';

/** How many findings the lead shows, in all and per failed gate; the rest are one click away. */
const LEAD_FINDINGS = 5;
const LEAD_FINDINGS_PER_GATE = 3;

const FAILED: ReadonlySet<GateRowStatus> = new Set(['failed', 'errored']);
export const isFailedRow = (row: GateRow): boolean => FAILED.has(row.status);

/** "Show all findings": every finding with its whole message, ephemeral (src/worker/card-details.ts). */
export const showFindingsButton = (cardId: string): ButtonElement => ({
  type: 'button',
  action_id: FINDINGS_DETAILS_ACTION_ID,
  text: plainText('Show all findings', BLOCK_KIT_LIMITS.buttonText),
  value: detailsButtonValue(cardId),
});

// ---------------------------------------------------------------------------------------------------
// The lead

/**
 * The sections that open a failure: the failed gate(s) with their findings, resource and fix, and what to
 * do now; or, when no gate failed, the failed job, the run, or Kargo's reason in plain words. The first
 * section carries "Show all findings" when a gate reported any.
 */
export function failureLead(card: Card): SectionBlock[] {
  const title = card.phase === 'Errored' ? '*What went wrong:*' : '*Why it failed:*';
  const rows = gateChecklist(card);
  const failing = rows.filter(isFailedRow);
  const texts = failing.length > 0 ? gateLead(card, title, failing) : [otherLead(card, title)];
  const blocks = texts.map(sectionBlock);
  const withFindings = rows.some((row) => (row.topFindings?.length ?? 0) > 0);
  const first = blocks[0];
  if (first && withFindings) blocks[0] = { ...first, accessory: showFindingsButton(card.id) };
  return blocks;
}

function gateLead(card: Card, title: string, failing: readonly GateRow[]): string[] {
  const environment = runEnvironment(card);
  const items: string[] = [];
  let shown = 0;
  let hidden = 0;
  failing.forEach((row, index) => {
    const findings = row.topFindings ?? [];
    const total = Math.max(row.findings ? totalFindings(row.findings) : 0, findings.length);
    const room = Math.max(0, Math.min(LEAD_FINDINGS_PER_GATE, LEAD_FINDINGS - shown));
    const lines = [`${index === 0 ? `❌ ${title} ` : '❌ '}${gateWords(row)}`];
    for (const finding of findings.slice(0, room)) {
      lines.push(findingLines(explainFinding(finding, gateOf(row)), 300));
    }
    shown += Math.min(room, findings.length);
    hidden += total - Math.min(room, findings.length);
    items.push(lines.join('\n'));
  });
  if (hidden > 0)
    items.push(`… and ${plural(hidden, 'more finding')} — *Show all findings* lists them whole`);
  const next = nextStep(failing[0], environment);
  if (next) items.push(`*Do now:* ${next}`);
  return fitSections(
    items.map((text) => ({ text, priority: 0 })),
    { maxSections: 2, maxItem: 2_000, overflow: (n) => `… and ${plural(n, 'more failed gate')}` },
  );
}

/** `<job|*AWS · Trivy*> found 2 critical · 3 high` / `*AWS · fmt* failed` / the approval's note. */
function gateWords(row: GateRow): string {
  const name = link(row.jobUrl, `*${plain(row.label, PIECE.rowLabel)}*`);
  const counts = row.findings && totalFindings(row.findings) > 0 ? countsText(row.findings) : undefined;
  if (row.kind === 'approval') return `${name} — ${plain(row.note ?? 'not approved', 600)}`;
  if (row.status === 'errored') {
    return `${name} could not run${row.note ? `: ${plain(row.note, 400)}` : ''}`;
  }
  return counts
    ? `${name} found ${counts}`
    : `${name} failed${row.note ? ` — _${plain(row.note, 300)}_` : ''}`;
}

/** A finding as lines: severity, resource, the problem; its fix under it. */
function findingLines(finding: ExplainedFinding, max: number): string {
  const where = finding.resource ? ` on ${code(finding.resource, PIECE.findingResource)}` : '';
  const problem = plain(finding.problem, max);
  const lines = [`• *${escapeMrkdwn(finding.severity)}*${where} — ${problem}`];
  const fix = fixText(finding, max);
  if (fix) lines.push(`      *Fix:* ${fix}`);
  return lines.join('\n');
}

function fixText(finding: ExplainedFinding, max: number): string | undefined {
  if (finding.fix) return plain(finding.fix, max);
  if (finding.fixUrl) return link(finding.fixUrl, `how to fix ${plain(finding.id, PIECE.findingId)}`);
  return undefined;
}

/**
 * The failure in one plain line for notifications: `AWS · Trivy found 2 critical, 3 high`, else the failed
 * job and step, else Kargo's reason in words (or as Kargo put it). Undefined when nothing is known.
 */
export function failurePlain(card: Card): string | undefined {
  const gate = gateChecklist(card).find(isFailedRow);
  if (gate) {
    const found = gate.findings && totalFindings(gate.findings) > 0;
    return `${gate.label} ${found && gate.findings ? `found ${countsText(gate.findings).replace(/ · /g, ', ')}` : gate.kind === 'approval' ? (gate.note ?? 'not approved') : 'failed'}`;
  }
  const failed = card.failedJob;
  if (failed) return `job ${failed.name} failed${failed.step ? ` at step ${failed.step}` : ''}`;
  return card.phaseMessage;
}

/** When no gate failed: the failed job, the run, or Kargo's reason. */
function otherLead(card: Card, title: string): string {
  const failed = card.failedJob;
  if (failed) {
    const job = link(failed.url ?? card.run?.url, `*${plain(failed.name, PIECE.jobName)}*`);
    const where = failed.step ? ` at step ${code(failed.step, PIECE.jobName)}` : '';
    return `❌ ${title} the job ${job} failed${where} — its log says why.\n*Do now:* ${jobNextStep(failed.step)}`;
  }
  const run = card.run;
  if (run?.status === 'completed' && run.conclusion && run.conclusion !== 'success') {
    const ended =
      { failure: 'failed', cancelled: 'was cancelled', timed_out: 'timed out' }[run.conclusion] ??
      `ended ${plain(run.conclusion.replace(/_/g, ' '), 40)}`;
    return `❌ ${title} ${link(run.url, `GitHub run #${run.id}`)} ${ended}; no failed job was reported — its page says why.`;
  }
  if (card.phaseMessage) {
    const words = kargoInWords(card.phaseMessage, card);
    return fitMrkdwn(
      `❌ ${title} ${words ?? `Kargo says: ${plain(card.phaseMessage, 300)} (whole message below)`}`,
      BLOCK_KIT_LIMITS.sectionText,
    );
  }
  return `❌ ${title} Kargo gave no reason; the steps below and the GitHub run have the details.`;
}

function jobNextStep(step: string | undefined): string {
  if (step && /apply/i.test(step)) {
    return 'read the job log: the apply may have changed part of the environment, so check the state before promoting again.';
  }
  return 'read the job log, fix what it says, push, and promote the new freight.';
}

/** The root a gate checks (README: terraform/aws/<env>, terraform/gcp, terraform/azure). */
const rootOf = (cloud: string | undefined, environment: RunEnvironment): string | undefined =>
  cloud === 'aws' ? `terraform/aws/${environment}` : cloud ? `terraform/${cloud}` : undefined;

/** What to do about the first failed gate. */
function nextStep(row: GateRow | undefined, environment: RunEnvironment): string | undefined {
  if (!row) return undefined;
  const gate = gateOf(row);
  const root = rootOf(row.cloud, environment);
  const inRoot = root ? ` in ${code(root, 60)}` : '';
  switch (gate) {
    case 'approval':
      return "address the reviewer's reason, then promote again.";
    case 'fmt':
      return `run \`terraform fmt -recursive terraform\`, push, and promote the new freight.`;
    case 'validate':
      return `fix the configuration${inRoot} (the job log has the error), push, and promote the new freight.`;
    case 'plan':
      return 'read the plan step in the job log, fix what it says, push, and promote the new freight.';
    case 'apply':
      return 'read the apply step in the job log: part of the environment may already be changed, so check the state before promoting again.';
    case 'opa':
    case 'conftest':
      return `change what the policy message says${inRoot}, push, and promote the new freight.`;
    default:
      return row.status === 'errored'
        ? 'read the job log: the tool itself could not run; re-run the job once that is fixed.'
        : `fix the findings${inRoot}, push, and promote the new freight.`;
  }
}

/** The gate a row stands for: `trivy`, `fmt`, `opa`, `approval`, … */
function gateOf(row: GateRow): string {
  if (row.kind === 'approval') return 'approval';
  if (row.kind === 'apply') return 'apply';
  if (row.kind === 'plan') return 'plan';
  if (row.key === 'opa') return 'opa';
  if (row.key === 'prod-opa') return 'conftest';
  const report = /^report:([^/]+)\//.exec(row.key)?.[1];
  if (report) return report;
  const spec = GATE_TABLE.find((s) => s.key === row.key);
  return spec?.reports[0]?.gate ?? row.key.replace(/^(aws|gcp|azure)-/, '');
}

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;
const countsText = (counts: FindingCounts): string =>
  SEVERITIES.filter((s) => counts[s] > 0)
    .map((s) => `${counts[s].toLocaleString('en-US')} ${s}`)
    .join(' · ');

// ---------------------------------------------------------------------------------------------------
// Kargo's wording, in words

/**
 * Kargo's message for a failed step, said plainly; undefined when it is not one the bot recognises (the
 * card then quotes it). The http steps of kargo/stages.yaml fail with `step "<alias>": HTTP (<status>)
 * response met failure criteria`.
 */
export function kargoInWords(message: string, card: Card): string | undefined {
  const http = /step "([^"]+)": HTTP \((\d{3})\) response met failure criteria(?::\s*(.+))?/s.exec(message);
  if (http) {
    const [, alias = '', status = '', detail] = http;
    const step = code(alias, PIECE.stepAlias);
    const extra = detail ? `: ${plain(detail, 300)}` : '';
    const run = card.run ? link(card.run.url, `GitHub run #${card.run.id}`) : 'the GitHub run';
    if (/wait/i.test(alias)) {
      return status === '200'
        ? `Kargo's ${step} step saw ${run} end without success${extra}.`
        : `Kargo's ${step} step could not read ${run} (HTTP ${status}): its GitHub token lacks Actions: read, or the run is gone${extra}.`;
    }
    if (/dispatch/i.test(alias)) {
      return `GitHub refused Kargo's workflow dispatch (${step} step, HTTP ${status})${extra}: check the workflow inputs and Kargo's GitHub token.`;
    }
    return `Kargo's ${step} step got HTTP ${status}, which its failure criteria count as a failure${extra}.`;
  }
  const step = /^step "([^"]+)" (failed|errored): (.+)$/s.exec(message);
  if (step) {
    const [, alias = '', verb = '', detail = ''] = step;
    return `Kargo's ${code(alias, PIECE.stepAlias)} step ${verb}: ${plain(detail, 400)}`;
  }
  if (/timed out|deadline exceeded|timeout/i.test(message)) {
    const step = /step "([^"]+)"/.exec(message)?.[1];
    return `Kargo stopped waiting${step ? ` in its ${code(step, PIECE.stepAlias)} step` : ''} (timeout): ${plain(message, 300)}`;
  }
  return undefined;
}

/** `*Kargo says*` and the message in a code block: the step detail, last on the card and the alert. */
export function kargoSaysText(message: string): string {
  const title = '*Kargo says*';
  const fence = '```';
  const budget = BLOCK_KIT_LIMITS.sectionText - title.length - 1 - 2 * fence.length;
  const body = fitMrkdwn(escapeMrkdwn(message.replace(/```/g, "'''")), budget);
  return `${title}\n${fence}${body || ' '}${fence}`;
}

// ---------------------------------------------------------------------------------------------------
// All findings (on demand, ephemeral, paged)

const ATTENTION_ORDER: Readonly<Record<GateRowStatus, number>> = {
  failed: 0,
  errored: 0,
  'soft-failed': 1,
  unknown: 2,
  cancelled: 3,
  running: 4,
  waiting: 4,
  passed: 5,
  skipped: 6,
  pending: 6,
};

const ROW_MARK: Partial<Record<GateRowStatus, string>> = {
  failed: '❌',
  errored: '💥',
  'soft-failed': '⚠️',
  passed: '✅',
};

/** Every finding of every gate (failed first), each whole: resource, location, message, fix. */
export function renderFindingsDetails(card: Card, page = 1): SlackMessage {
  const runUrl = card.run?.url;
  const rows = gateChecklist(card)
    .filter((row) => (row.topFindings?.length ?? 0) > 0 || (row.findings && totalFindings(row.findings) > 0))
    .map((row, index) => ({ row, index }))
    .sort((a, b) => ATTENTION_ORDER[a.row.status] - ATTENTION_ORDER[b.row.status] || a.index - b.index)
    .map(({ row }) => row);
  const items: string[] = [];
  for (const row of rows) {
    const findings = row.topFindings ?? [];
    const total = Math.max(row.findings ? totalFindings(row.findings) : 0, findings.length);
    const counts = row.findings ? countsText(row.findings) : '';
    items.push(
      `${ROW_MARK[row.status] ?? '•'} *${plain(row.label, PIECE.rowLabel)}* · ${row.status}${counts ? ` · ${counts}` : ''} — ${link(row.jobUrl ?? runUrl, 'the job')}`,
    );
    for (const finding of findings) items.push(wholeFinding(finding, gateOf(row)));
    if (total > findings.length) {
      items.push(
        `_… and ${plural(total - findings.length, 'more finding')} only in the job log (the gate result keeps the most severe ${findings.length}) — ${link(row.jobUrl ?? runUrl, 'see the job')}_`,
      );
    }
  }
  if (items.length === 0) items.push('_No gate reported findings for this promotion._');
  const failedCount = rows.filter(isFailedRow).length;
  return pagedMessage({
    title: `Findings · ${targetOf(card)}`,
    text: `Findings for the promotion to ${targetOf(card)}: ${plural(rows.length, 'gate')} with findings${failedCount > 0 ? `, ${failedCount} failed` : ''}`,
    page: paginate(items, page, {
      maxPages: MAX_DETAILS_PAGE,
      overflow: (hidden) => `… and ${plural(hidden, 'more line')} — ${link(runUrl, 'the run')} has them all`,
    }),
    cardId: card.id,
    actionId: FINDINGS_DETAILS_ACTION_ID,
  });
}

function wholeFinding(finding: Finding, gate: string): string {
  const explained = explainFinding(finding, gate);
  const head = [
    `*${escapeMrkdwn(explained.severity)}* ${code(explained.id, PIECE.findingId)}`,
    explained.resource ? ` on ${code(explained.resource, 300)}` : '',
    explained.location ? ` · ${code(explained.location, 300)}` : '',
  ].join('');
  const lines = [head, plain(explained.problem, 1_000)];
  if (explained.detail) lines.push(`> ${plain(explained.detail, 1_000)}`);
  const fix = fixText(explained, 1_000);
  if (fix) lines.push(`*Fix:* ${fix}`);
  return lines.join('\n');
}
