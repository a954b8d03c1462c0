// The shape every signed Slack request must have before Bolt dispatches it. A request Slack signed is
// authentic, but a handler that reads `user_id` from a slash command without one would answer "queued"
// and drop the job later; a click without `user` would crash a listener. Checked here, such a request is
// answered 400 with the reason, and recorded against its sender when one is named.
import { z } from 'zod';
import { parseJsonObject } from './json.js';

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,31}$/, 'a Slack user id');
const slackChannelId = z.string().regex(/^[CGD][A-Z0-9]{2,31}$/, 'a Slack channel id');
const triggerId = z.string().min(1).max(128);
const url = z.string().max(1024).url();

const slashCommand = z.object({
  command: z.string().regex(/^\/[a-z0-9_-]{1,31}$/, 'a slash command such as /promote'),
  text: z.string().max(4000).optional(),
  user_id: slackUserId,
  user_name: z.string().max(128).optional(),
  channel_id: slackChannelId,
  trigger_id: triggerId,
  response_url: url.optional(),
});

const interactiveUser = z.object({ id: slackUserId }).loose();

const blockActions = z
  .object({
    type: z.literal('block_actions'),
    user: interactiveUser,
    trigger_id: triggerId.optional(),
    response_url: url.optional(),
    actions: z
      .array(
        z.object({ action_id: z.string().min(1).max(255), value: z.string().max(2000).optional() }).loose(),
      )
      .min(1, 'at least one action'),
  })
  .loose();

const viewSubmission = z
  .object({
    type: z.enum(['view_submission', 'view_closed']),
    user: interactiveUser,
    view: z.object({ id: z.string().min(1).max(64), callback_id: z.string().max(255).optional() }).loose(),
  })
  .loose();

const interactive = z.discriminatedUnion('type', [blockActions, viewSubmission]);

export type SlackPayloadCheck =
  | {
      ok: true;
      kind: 'slash-command' | 'interaction' | 'event' | 'ssl-check';
      /** The parsed body, as Bolt's listeners take it (src/slack/edge-receiver.ts): parsed once, here. */
      body: Record<string, unknown>;
    }
  /** `userId`: the sender Slack named, when the payload names one (the refusal is audited against it). */
  | { ok: false; reason: string; userId?: string };

const describe = (error: z.ZodError): string =>
  error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    .join('; ');

const userOf = (fields: unknown): string | undefined => {
  const f = fields as { user_id?: unknown; user?: { id?: unknown } } | undefined;
  const id = typeof f?.user_id === 'string' ? f.user_id : f?.user?.id;
  return typeof id === 'string' && /^[UW][A-Z0-9]{2,31}$/.test(id) ? id : undefined;
};

/** Checks a signed request body (form-encoded or JSON, as Slack sends them). */
export function checkSlackPayload(rawBody: Buffer, contentType: string | undefined): SlackPayloadCheck {
  const text = rawBody.toString('utf8');
  if ((contentType ?? '').startsWith('application/json')) {
    const parsed = parseJsonObject(text);
    if (!parsed.ok) return { ok: false, reason: parsed.reason };
    const type = (parsed.value as { type?: unknown }).type;
    return typeof type === 'string'
      ? { ok: true, kind: 'event', body: parsed.value }
      : { ok: false, reason: 'an Events API body without a type' };
  }
  const form = new URLSearchParams(text);
  if (form.get('ssl_check') === '1') return { ok: true, kind: 'ssl-check', body: Object.fromEntries(form) };
  const payload = form.get('payload');
  if (payload !== null) {
    const parsed = parseJsonObject(payload);
    if (!parsed.ok) return { ok: false, reason: `payload: ${parsed.reason}` };
    const type = (parsed.value as { type?: unknown }).type;
    if (type !== 'block_actions' && type !== 'view_submission' && type !== 'view_closed') {
      // Shortcuts, message actions, block suggestions…: not used by this bot; Bolt answers them.
      return typeof type === 'string'
        ? { ok: true, kind: 'interaction', body: parsed.value }
        : { ok: false, reason: 'payload: an interaction without a type' };
    }
    const checked = interactive.safeParse(parsed.value);
    if (!checked.success) {
      const userId = userOf(parsed.value);
      return { ok: false, reason: `${type}: ${describe(checked.error)}`, ...(userId ? { userId } : {}) };
    }
    return { ok: true, kind: 'interaction', body: parsed.value };
  }
  if (form.has('command')) {
    const fields = Object.fromEntries(form);
    const checked = slashCommand.safeParse(fields);
    if (!checked.success) {
      const userId = userOf(fields);
      return {
        ok: false,
        reason: `slash command: ${describe(checked.error)}`,
        ...(userId ? { userId } : {}),
      };
    }
    return { ok: true, kind: 'slash-command', body: fields };
  }
  return { ok: false, reason: 'neither a slash command, an interaction nor an event' };
}
