// The approval, rendered: the card's approval block (⏳ Awaiting approval with Approve / Reject, or who
// decided), the Reject reason modal, the `/approve` list of what is waiting, and the reminder line for
// #infra-deployments. Pure: everything here is a function of the card(s) and the arguments.
//
// The buttons carry {card, env, nonce} (approval.ts); what they may do is decided server-side when they are
// clicked (src/approvals/handlers.ts), never by what the message says.
import {
  APPROVE_ACTION_ID,
  REJECT_ACTION_ID,
  WITHDRAW_ACTION_ID,
  approvalActionValue,
  approvalView,
} from './approval.js';
import type { ApprovalView, CardApproval } from './approval.js';
import {
  BLOCK_KIT_LIMITS,
  contextBlock,
  escapeMrkdwn,
  fitMrkdwn,
  plainText,
  sectionBlock,
  truncate,
} from './blockkit.js';
import type {
  ActionsBlock,
  Block,
  ButtonElement,
  ModalBlock,
  PlainTextObject,
  SlackMessage,
} from './blockkit.js';
import type { Card } from './card.js';
import { planCountsText, planHasChanges, riskLine, riskPlain, showResourcesButton } from './render-plan.js';
import {
  PIECE,
  code,
  elapsed,
  freightWord,
  link,
  mention,
  oneLine,
  plain,
  slackDate,
  targetOf,
} from './render-parts.js';
import type { Environment } from './types.js';
import type { ModalView } from '@slack/types';

/** Block ids of the approval block on the card (unique within the card). */
export const APPROVAL_BLOCK_ID = 'approval';
export const APPROVAL_ACTIONS_BLOCK_ID = 'approval_actions';
/** The one-line risk between the approval text and its buttons. */
export const APPROVAL_RISK_BLOCK_ID = 'approval_risk';

/** The Reject reason modal (views.open): callback id, and where the reason is in view.state.values. */
export const REJECT_REASON_CALLBACK_ID = 'reject_reason';
export const REJECT_REASON_BLOCK_ID = 'reject_reason';
export const REJECT_REASON_ACTION_ID = 'reason';
export const REJECT_REASON_LIMITS = { min: 3, max: 500 } as const;

// ---------------------------------------------------------------------------------------------------
// On the card

/** The approval's blocks on the card: nothing when the card has no approval. */
export function approvalBlocks(card: Card, now?: Date): Block[] {
  const view = approvalView(card);
  if (!view) return [];
  const blocks: Block[] = [{ ...sectionBlock(approvalText(card, view, now)), block_id: APPROVAL_BLOCK_ID }];
  if (view.actionable) {
    // The risk in one line, right before the buttons, with the resources one click away.
    const risk = sectionBlock(riskLine(card));
    blocks.push({
      ...risk,
      block_id: APPROVAL_RISK_BLOCK_ID,
      ...(card.plans.some(planHasChanges) ? { accessory: showResourcesButton(card.id) } : {}),
    });
    const actions = approvalActions(card, view.approval);
    if (actions) blocks.push(actions);
    else {
      blocks.push(
        contextBlock([
          `Decide with \`/approve ${escapeMrkdwn(truncate(card.promotion?.name ?? freightWord(card) ?? card.id, 120))}\``,
        ]),
      );
    }
  }
  return blocks;
}

function approvalText(card: Card, view: ApprovalView, now: Date | undefined): string {
  const { approval } = view;
  const env = `*${escapeMrkdwn(approval.environment)}*`;
  const run = link(card.run?.url ?? approval.reviewUrl, `run #${approval.runId}`);
  switch (view.phase) {
    case 'waiting': {
      const since = approval.requestedAt ?? approval.since;
      const waited = now ? elapsed(since, now.toISOString()) : undefined;
      const lines = [
        `⏳ *Awaiting approval* — the ${env} deployment of ${run} waits for an approver · since ${slackDate(since)}${
          waited ? ` (${waited})` : ''
        }`,
        approval.mode === 'protection-rule'
          ? '_Approve or reject here: the decision goes to GitHub with your name. The requester cannot approve._'
          : `_Approving uses your own GitHub account (\`/approve link\` once), or ${link(approval.reviewUrl, 'review it on GitHub')}. The requester cannot approve._`,
      ];
      if (card.plans.length === 0) {
        // When the buttons show, the risk line under this says so too.
        if (!view.actionable) {
          lines.push(
            `_The plan summary is not in yet — ${link(card.run?.url ?? approval.reviewUrl, 'see the run')}._`,
          );
        }
      } else {
        const plans = card.plans.map(
          (plan) =>
            `${escapeMrkdwn(`${plan.cloud.toUpperCase()} ${plan.environment}`)}: ${planCountsText(plan)}`,
        );
        lines.push(`*What it will apply:* ${plans.join(' · ')}`);
      }
      return fitMrkdwn(lines.join('\n'), BLOCK_KIT_LIMITS.sectionText);
    }
    case 'approved':
      return fitMrkdwn(
        `✅ *Approved* by ${deciderMrkdwn(approval)} · ${slackDate(approval.since)} — the ${env} deployment of ${run} goes ahead`,
        BLOCK_KIT_LIMITS.sectionText,
      );
    case 'rejected': {
      const reason = approval.reason ? `\n> ${plain(approval.reason, 600)}` : '';
      return fitMrkdwn(
        `🚫 *Rejected* by ${deciderMrkdwn(approval)} · ${slackDate(approval.since)} — the ${env} deployment of ${run} will not run${reason}`,
        BLOCK_KIT_LIMITS.sectionText,
      );
    }
    case 'moved-on':
      return `✋ _The ${env} deployment of ${run} is no longer waiting: it was decided on GitHub._`;
    case 'ended':
      return `✋ _The approval is closed: ${run} ended before anyone decided._`;
  }
}

function deciderMrkdwn(approval: CardApproval): string {
  const slack = approval.by && /^[UW][A-Z0-9]{2,}$/.test(approval.by.slackUserId);
  const github = approval.githubLogin ? code(`@${approval.githubLogin}`, 100) : undefined;
  if (slack && approval.by) return `${mention(approval.by)}${github ? ` (GitHub ${github})` : ''}`;
  return github ? `${github} on GitHub` : 'someone';
}

function approvalActions(card: Card, approval: CardApproval): ActionsBlock | undefined {
  if (!approval.nonce) return undefined;
  return {
    type: 'actions',
    block_id: APPROVAL_ACTIONS_BLOCK_ID,
    elements: approvalButtons(card.id, approval.environment, approval.nonce),
  };
}

/**
 * The Approve (primary), Reject (danger) and Withdraw buttons for one approval. Withdraw is how the
 * requester, who may not approve, takes the request back (an approver may use it too): the promotion is
 * aborted in Kargo and the waiting deployment rejected, after Slack's confirmation dialog.
 */
export function approvalButtons(cardId: string, environment: Environment, nonce: string): ButtonElement[] {
  const value = approvalActionValue({ card: cardId, env: environment, nonce });
  return [
    {
      type: 'button',
      action_id: APPROVE_ACTION_ID,
      text: plainText('Approve', BLOCK_KIT_LIMITS.buttonText),
      style: 'primary',
      value,
    },
    {
      type: 'button',
      action_id: REJECT_ACTION_ID,
      text: plainText('Reject', BLOCK_KIT_LIMITS.buttonText),
      style: 'danger',
      value,
    },
    {
      type: 'button',
      action_id: WITHDRAW_ACTION_ID,
      text: plainText('Withdraw', BLOCK_KIT_LIMITS.buttonText),
      value,
      confirm: {
        title: plainText('Withdraw this promotion?', 100),
        text: plainText(
          'The promotion is aborted in Kargo and its waiting deployment rejected. Only its requester or an approver can do this.',
          300,
        ),
        confirm: plainText('Withdraw', 30),
        deny: plainText('Keep it', 30),
      },
    },
  ];
}

/** The card's notification text while an approval waits; undefined otherwise (render.ts keeps its own). */
export function approvalFallbackText(card: Card): string | undefined {
  const view = approvalView(card);
  if (!view?.actionable) return undefined;
  const freight = freightWord(card);
  const risk = riskPlain(card);
  return `⏳ Promotion to ${targetOf(card)} is awaiting approval${freight ? `: ${truncate(oneLine(freight), PIECE.alias)}` : ''}${risk ? ` — ${truncate(risk, 200)}` : ''}`;
}

// ---------------------------------------------------------------------------------------------------
// The Reject reason modal

/** Slack's modal view, with the parts the bot always gives and blocks it renders (modal inputs included). */
export interface SlackModalView extends ModalView {
  callback_id: string;
  private_metadata: string;
  title: PlainTextObject;
  submit: PlainTextObject;
  close: PlainTextObject;
  blocks: ModalBlock[];
}

/** The view the lead opens with views.open(trigger_id, view) when Reject is clicked. */
export function renderRejectModal(
  card: Card,
  environment: Environment,
  privateMetadata: string,
): SlackModalView {
  const freight = freightWord(card);
  const what = `${freight ? `*${plain(freight, PIECE.alias)}* → ` : ''}*${escapeMrkdwn(environment)}*${
    card.run ? ` (run #${card.run.id})` : ''
  }`;
  return {
    type: 'modal',
    callback_id: REJECT_REASON_CALLBACK_ID,
    private_metadata: privateMetadata,
    title: { type: 'plain_text', text: 'Reject deployment' },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      sectionBlock(
        `Reject the deployment of ${what}? GitHub fails the deployment job; the reason goes to GitHub, the card and #infra-audit.`,
      ),
      {
        type: 'input',
        block_id: REJECT_REASON_BLOCK_ID,
        label: { type: 'plain_text', text: 'Why are you rejecting it?' },
        element: {
          type: 'plain_text_input',
          action_id: REJECT_REASON_ACTION_ID,
          multiline: true,
          min_length: REJECT_REASON_LIMITS.min,
          max_length: REJECT_REASON_LIMITS.max,
          placeholder: { type: 'plain_text', text: 'e.g. the plan destroys the NAT gateway' },
        },
      },
    ],
  };
}

/** The reason typed into the modal (view.state.values), or undefined. */
export function reasonFromViewState(state: unknown): string | undefined {
  const values = (state as { values?: Record<string, Record<string, { value?: unknown }>> } | undefined)
    ?.values;
  const value = values?.[REJECT_REASON_BLOCK_ID]?.[REJECT_REASON_ACTION_ID]?.value;
  return typeof value === 'string' ? value : undefined;
}

/** Why a reason is not acceptable (for `response_action: errors`), or undefined when it is. */
export function rejectReasonProblem(reason: string | undefined): string | undefined {
  const text = (reason ?? '').trim();
  if (text.length < REJECT_REASON_LIMITS.min) return 'Say why you reject it (a few words at least).';
  if (text.length > REJECT_REASON_LIMITS.max)
    return `Keep the reason under ${REJECT_REASON_LIMITS.max} characters.`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// `/approve` without arguments: what is waiting

export interface PendingListItem {
  card: Card;
  /** Whether the viewing user may decide it (access list and four-eyes); the reason when not. */
  allowed: boolean;
  why?: string;
}

const MAX_LISTED = 10;

export function renderPendingList(items: readonly PendingListItem[], now?: Date): SlackMessage {
  if (items.length === 0) {
    return {
      text: 'Nothing is waiting for approval.',
      blocks: [sectionBlock('✅ Nothing is waiting for approval.')],
    };
  }
  const blocks: Block[] = [
    sectionBlock(
      `*Waiting for approval* (${items.length})${items.length > MAX_LISTED ? ` — the ${MAX_LISTED} oldest` : ''}`,
    ),
  ];
  for (const item of items.slice(0, MAX_LISTED)) {
    const { card } = item;
    const view = approvalView(card);
    if (!view) continue;
    const { approval } = view;
    const since = approval.requestedAt ?? approval.since;
    const waited = now ? elapsed(since, now.toISOString()) : undefined;
    const name = card.promotion?.name ?? card.id;
    const plans = card.plans.map((plan) => `${plan.cloud} ${plan.environment} ${planCountsText(plan)}`);
    const lines = [
      `*${plain(freightWord(card) ?? name, PIECE.alias)}* → *${escapeMrkdwn(approval.environment)}* · ${code(name, 120)} · ${link(card.run?.url ?? approval.reviewUrl, `run #${approval.runId}`)}`,
      [
        card.request ? `requested by ${mention(card.request.requestedBy)}` : undefined,
        `waiting since ${slackDate(since)}${waited ? ` (${waited})` : ''}`,
        plans.length > 0 ? `plan ${escapeMrkdwn(plans.join(', '))}` : 'plan not in yet',
        riskPlain(card) ? `⚠️ ${escapeMrkdwn(riskPlain(card) ?? '')}` : undefined,
      ]
        .filter(Boolean)
        .join(' · '),
    ];
    if (!item.allowed && item.why) lines.push(`_${plain(item.why, 300)}_`);
    blocks.push(sectionBlock(fitMrkdwn(lines.join('\n'), BLOCK_KIT_LIMITS.sectionText)));
    if (item.allowed && approval.nonce) {
      blocks.push({
        type: 'actions',
        elements: approvalButtons(card.id, approval.environment, approval.nonce),
      });
    }
  }
  blocks.push(contextBlock(['`/approve <promotion | freight alias>` approves one directly.']));
  return {
    text: `${items.length} promotion${items.length === 1 ? '' : 's'} waiting for approval`,
    blocks,
  };
}

// ---------------------------------------------------------------------------------------------------
// The reminder line (#infra-deployments)

export interface ReminderOptions {
  /** Permalink of the card message. */
  cardUrl?: string;
  now?: Date;
  /** Who may approve (access.approve.<env>): mentioned so the reminder reaches them. */
  approvers?: { users: readonly string[]; groups: readonly string[] };
}

/** "⏰ frozen-tauntaun → prod has been waiting for approval for 30m · <card|view the card> · approvers: …" */
export function renderApprovalReminder(card: Card, options: ReminderOptions = {}): SlackMessage {
  const approval = card.approval;
  const env = approval?.environment ?? targetOf(card);
  const since = approval?.requestedAt ?? approval?.since;
  const waited = since && options.now ? elapsed(since, options.now.toISOString()) : undefined;
  const who = freightWord(card) ?? card.promotion?.name ?? 'a promotion';
  const users = (options.approvers?.users ?? []).filter((u) => /^[UW][A-Z0-9]{2,}$/.test(u)).slice(0, 10);
  const groups = (options.approvers?.groups ?? []).filter((g) => /^S[A-Z0-9]{2,}$/.test(g)).slice(0, 5);
  const mentions = [...users.map((u) => `<@${u}>`), ...groups.map((g) => `<!subteam^${g}>`)];
  const links = [
    options.cardUrl ? link(options.cardUrl, 'view the card') : undefined,
    card.run?.url ? link(card.run.url, `run #${card.run.id}`) : undefined,
  ].filter((piece): piece is string => piece !== undefined && piece.startsWith('<'));
  const line = `⏰ ${plain(who, PIECE.alias)} → *${escapeMrkdwn(env)}* has been waiting for approval${
    waited ? ` for ${waited}` : ''
  }${links.length > 0 ? ` · ${links.join(' · ')}` : ''}${mentions.length > 0 ? ` · approvers: ${mentions.join(' ')}` : ''}`;
  const text = `⏰ ${truncate(oneLine(who), PIECE.alias)} → ${env} has been waiting for approval${waited ? ` for ${waited}` : ''}`;
  return {
    text: fitMrkdwn(escapeMrkdwn(text), BLOCK_KIT_LIMITS.messageText),
    blocks: [sectionBlock(fitMrkdwn(line, BLOCK_KIT_LIMITS.sectionText))],
  };
}

/** A user-facing line for an approval's state (handlers' answers). Plain text. */
export const approvalSubject = (card: Card, environment: Environment): string => {
  const freight = freightWord(card);
  return `${freight ? `${freight} → ` : ''}${environment}${card.run ? ` (run #${card.run.id})` : ''}`;
};
