// A person waiting for the bot: sends one signed request to the web process and times how long until the
// worker's answer reaches them through the Slack stand-in (response_url), using the stand-in's change feed.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { APPROVE_ACTION_ID } from '../../src/domain/approval.js';
import type { SlackStandIn, StandInEphemeral } from '../../src/sandbox/slack-standin.js';
import { blockActionsBody, newTriggerId, signedSlackRequest } from '../../src/sandbox/slack-requests.js';
import { CHANNELS, SIGNING_SECRET } from './children.js';
import { signedCommand, type LoadRequest } from './load.js';
import { msSince, round } from './util.js';

export interface ProbeResult {
  kind: string;
  user: string;
  /** When it was sent, ms after the reference time given to the prober. */
  sentAtMs: number;
  ackMs: number;
  ackStatus: number;
  /** Until the worker's answer arrived; undefined when none came in time. */
  answerMs?: number;
  answer?: string;
  /** Whether the answer (text and blocks) matched `expect`, when one was given. */
  matched?: boolean;
}

function send(port: number, r: LoadRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: r.path, method: 'POST', headers: r.headers, timeout: 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(r.body);
  });
}

/** A click on a prod card's Approve button, as Slack sends it (block_actions, signed). */
export function approveClick(slack: SlackStandIn, user: string, value: string): LoadRequest {
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0STANDIN' },
    api_app_id: 'A0CHATOPS',
    token: 'deprecated-verification-token',
    container: {
      type: 'message',
      message_ts: '1700000000.000100',
      channel_id: CHANNELS.deployments,
      is_ephemeral: false,
    },
    trigger_id: newTriggerId(),
    team: { id: 'T0STANDIN', domain: 'standin' },
    channel: { id: CHANNELS.deployments, name: 'infra-deployments' },
    response_url: slack.createResponseUrl({
      channel: CHANNELS.deployments,
      user,
      messageTs: '1700000000.000100',
    }),
    actions: [
      {
        action_id: APPROVE_ACTION_ID,
        block_id: 'approval',
        text: { type: 'plain_text', text: 'Approve', emoji: true },
        value,
        style: 'primary',
        type: 'button',
        action_ts: `${Date.now() / 1000}`,
      },
    ],
    state: { values: {} },
  };
  const body = blockActionsBody(payload);
  const signed = signedSlackRequest(SIGNING_SECRET, body);
  return { path: '/slack/events', headers: signed.headers, body };
}

/** A value the bot's Approve buttons carry (card, env, nonce), for a card that is not waiting. */
export const staleApprovalValue = (): string =>
  JSON.stringify({
    card: `req-${randomBytes(8).toString('hex')}`,
    env: 'prod',
    nonce: randomBytes(16).toString('base64url').slice(0, 22),
  });

export class Prober {
  private readonly waiters = new Set<{ user: string; done: (e: StandInEphemeral) => void }>();
  private readonly unsubscribe: () => void;
  private count = 0;

  constructor(
    private readonly slack: SlackStandIn,
    private readonly port: () => number,
    private readonly t0: bigint,
  ) {
    this.unsubscribe = slack.onChange(() => this.check());
  }

  private check(): void {
    for (const w of this.waiters) {
      const found = this.slack.ephemeral({ user: w.user })[0];
      if (found) {
        this.waiters.delete(w);
        w.done(found);
      }
    }
  }

  /**
   * Sends `/freight` (kind 'freight') or an Approve click (kind 'approve') as a new user and waits for the
   * first answer to that user.
   */
  async probe(
    kind: 'freight' | 'approve',
    o: { timeoutMs?: number; expect?: RegExp } = {},
  ): Promise<ProbeResult> {
    const timeoutMs = o.timeoutMs ?? 120_000;
    const user = `U0PR${kind === 'freight' ? 'F' : 'A'}${String(++this.count).padStart(5, '0')}`;
    const req =
      kind === 'freight'
        ? signedCommand({
            command: '/freight',
            text: '',
            userId: user,
            responseUrl: this.slack.createResponseUrl({ channel: CHANNELS.deployments, user }),
          })
        : approveClick(this.slack, user, staleApprovalValue());
    const sentAtMs = round(msSince(this.t0), 1);
    const started = process.hrtime.bigint();
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<StandInEphemeral | undefined>((resolve) => {
      const waiter = { user, done: (e: StandInEphemeral) => resolve(e) };
      this.waiters.add(waiter);
      timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(undefined);
      }, timeoutMs);
    });
    const ack = await send(this.port(), req);
    const ackMs = round(msSince(started), 1);
    this.check();
    const answer = await answered;
    clearTimeout(timer);
    return {
      kind,
      user,
      sentAtMs,
      ackMs,
      ackStatus: ack.status,
      ...(answer
        ? {
            answerMs: round(msSince(started), 1),
            answer: answer.text.slice(0, 120),
            ...(o.expect
              ? { matched: o.expect.test(`${answer.text}\n${JSON.stringify(answer.blocks ?? [])}`) }
              : {}),
          }
        : {}),
    };
  }

  close(): void {
    this.unsubscribe();
  }
}
