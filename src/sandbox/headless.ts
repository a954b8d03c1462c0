// `npm run sandbox -- --scenario <name> --headless`: plays the scenario's story to the end without a
// browser, through the console's own API (the same signed Slack requests a click in the browser sends),
// prints what each channel received, and exits 0 only if every checkpoint of the story was reached.
//
// The story (what the scenario file's `story` asks for):
//   /freight                               as the requester: the freight list arrives (only to them)
//   /promote dev                           the newest freight; the card in #infra-deployments runs live
//                                          → succeeded, Terraform outputs in its thread, a success line
//                                          (or failed → an alert in #infra-alerts naming the failed job)
//   control (scenario `pass`, on prod)     /status shows every stage; the approver's /freeze prod is
//                                          announced; the requester's /promote prod is refused (frozen);
//                                          the Home tab shows the freeze; /unfreeze prod ends it
//   /promote prod <that freight>           first as the outsider (refused), then as the requester: the
//                                          prod gates run → [the requester's own Approve is refused, the
//                                          approver's goes through: TODO(approvals), on with "approval":
//                                          true in pass.json] → apply → succeeded with outputs (or failed →
//                                          #infra-alerts)
//   /unlock dev                            the stale lock is shown; the requester confirms; released; a
//                                          second /unlock dev finds none
//   /rollback prod (with control)          nothing earlier was verified in prod: refused, nothing changes
//   drift (scenario `drift`)               the scheduled drift check found drift: exactly one drift card
//                                          in #infra-alerts; the same drift found again adds nothing;
//                                          /drift dev names the newest check and what drifted
//   and always: #infra-audit mirrored the commands; no request to the GitHub stand-in strayed outside
//   GitHub's OpenAPI description.
import { setTimeout as sleep } from 'node:timers/promises';
import { APPROVE_ACTION_ID } from '../domain/approval.js';
import { PLAN_DETAILS_ACTION_ID } from '../domain/details.js';
import { lockObjectKey, TERRAFORM_BACKENDS } from '../locks/types.js';
import { scenarioNamed } from './github-scenarios.js';
import {
  SANDBOX_CHANNELS,
  SANDBOX_USERS,
  startSandbox,
  type Sandbox,
  type SandboxOptions,
  type SandboxScenario,
} from './stack.js';

// ── the console's API, as the page uses it ───────────────────────────────────────────────────────

export interface ConsoleMessage {
  ts: string;
  user: string;
  text: string;
  blocks?: unknown[];
  bot: boolean;
  edited: boolean;
  updateCount: number;
  threadTs?: string;
  replies: ConsoleMessage[];
}

export interface ConsoleEphemeral {
  ts: string;
  text: string;
  blocks?: unknown[];
  via: string;
}

export interface ConsoleChannel {
  id: string;
  name: string;
  key: 'deployments' | 'alerts' | 'audit';
  messages: ConsoleMessage[];
  ephemerals: ConsoleEphemeral[];
}

export interface ConsoleState {
  channels: ConsoleChannel[];
  /** The selected user's Home tab as the bot last published it (views.publish). */
  home?: { blocks?: unknown[] } | null;
}

/** A person at the console: sends what the browser would send, reads what the browser would show. */
export class ConsoleClient {
  constructor(private readonly baseUrl: string) {}

  async state(user: string): Promise<ConsoleState> {
    const res = await fetch(new URL(`/api/state?user=${encodeURIComponent(user)}`, this.baseUrl));
    if (!res.ok) throw new Error(`console state: HTTP ${res.status}`);
    return (await res.json()) as ConsoleState;
  }

  /** Types a slash command into a channel's composer and presses Enter. */
  async command(
    user: string,
    text: string,
    channel: string = SANDBOX_CHANNELS.deployments.id,
  ): Promise<void> {
    await this.post('/api/command', { user, channel, text });
  }

  /** Opens the app's Home tab (Slack sends app_home_opened; the bot publishes the view). */
  async home(user: string): Promise<void> {
    await this.post('/api/home', { user });
  }

  /** Clicks a button (after accepting its confirm dialog, if it has one). */
  async click(
    user: string,
    target: { messageTs: string; actionId: string; ephemeral: boolean; blockId?: string },
    channel: string = SANDBOX_CHANNELS.deployments.id,
  ): Promise<void> {
    await this.post('/api/action', { user, channel, ...target });
  }

  private async post(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await fetch(new URL(path, this.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok || answer.ok === false) {
      throw new Error(`console ${path}: ${String(answer.error ?? `HTTP ${res.status}`)}`);
    }
    return answer;
  }
}

// ── reading what is shown ────────────────────────────────────────────────────────────────────────

/** Everything a message shows, as one searchable string (fallback text and blocks). */
export const shown = (m: { text: string; blocks?: unknown[] }): string =>
  `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;

export const channelOf = (state: ConsoleState, key: ConsoleChannel['key']): ConsoleChannel => {
  const channel = state.channels.find((c) => c.key === key);
  if (!channel) throw new Error(`the console shows no ${key} channel`);
  return channel;
};

/** The live promotion card for `environment` after `after` (a ts), newest first. */
export function findCard(state: ConsoleState, environment: string, after = '0'): ConsoleMessage | undefined {
  return channelOf(state, 'deployments')
    .messages.filter(
      (m) =>
        m.bot && Number(m.ts) > Number(after) && /Promotion to /.test(m.text) && headerOf(m) !== undefined,
    )
    .filter((m) => new RegExp(`Promotion to ${environment}\\b`).test(headerOf(m) ?? ''))
    .at(-1);
}

function headerOf(m: ConsoleMessage): string | undefined {
  const header = (m.blocks ?? []).find(
    (b): b is { type: 'header'; text: { text: string } } =>
      typeof b === 'object' && b !== null && (b as { type?: string }).type === 'header',
  );
  return header?.text.text;
}

/** Finds the button `actionId` in Block Kit blocks. */
export function hasButton(blocks: unknown[] | undefined, actionId: string): boolean {
  return JSON.stringify(blocks ?? []).includes(`"action_id":"${actionId}"`);
}

// ── checkpoints ──────────────────────────────────────────────────────────────────────────────────

export interface Checkpoint {
  name: string;
  status: 'reached' | 'failed' | 'skipped';
  detail?: string;
  seconds?: number;
}

/** Thrown by a probe when the story went another way (a card ended otherwise): fail at once. */
class StoryFailure extends Error {}

class Story {
  readonly checkpoints: Checkpoint[] = [];
  private broken = false;

  constructor(
    private readonly log: (line: string) => void,
    private readonly deadline: number,
  ) {}

  /**
   * Runs `probe` until it returns a value, or throws StoryFailure (the story went another way: no point
   * waiting), or the step's or the story's time is up.
   */
  async reach<T>(
    name: string,
    probe: () => Promise<T | undefined | false>,
    opts: { timeoutMs?: number; required?: boolean } = {},
  ): Promise<T | undefined> {
    if (this.broken && opts.required !== false) {
      this.checkpoints.push({ name, status: 'skipped', detail: 'an earlier checkpoint failed' });
      return undefined;
    }
    const started = Date.now();
    const until = Math.min(this.deadline, started + (opts.timeoutMs ?? 90_000));
    let last: unknown;
    while (Date.now() < until) {
      try {
        const value = await probe();
        if (value !== undefined && value !== false) {
          const seconds = (Date.now() - started) / 1000;
          this.checkpoints.push({ name, status: 'reached', seconds });
          this.log(`  ✓ ${name} (${seconds.toFixed(1)} s)`);
          return value;
        }
      } catch (err) {
        if (err instanceof StoryFailure) return this.fail(name, err.message, started, opts.required);
        last = err;
      }
      await sleep(250);
    }
    const why = Date.now() >= this.deadline ? 'the story ran out of time' : 'timed out';
    return this.fail(
      name,
      `${why}${last ? ` (last error: ${(last as Error).message ?? String(last)})` : ''}`,
      started,
      opts.required,
    );
  }

  /** A step that is an action, not a wait: done once (never re-sent), or the story breaks. */
  async act(name: string, action: () => Promise<void>): Promise<boolean> {
    if (this.broken) {
      this.checkpoints.push({ name, status: 'skipped', detail: 'an earlier checkpoint failed' });
      return false;
    }
    const started = Date.now();
    try {
      await action();
    } catch (err) {
      this.fail(name, (err as Error).message, started, true);
      return false;
    }
    this.checkpoints.push({ name, status: 'reached', seconds: 0 });
    this.log(`  ✓ ${name}`);
    return true;
  }

  private fail(name: string, detail: string, started: number, required = true): undefined {
    this.checkpoints.push({ name, status: 'failed', detail, seconds: (Date.now() - started) / 1000 });
    this.log(`  ✗ ${name}: ${detail}`);
    if (required) this.broken = true;
    return undefined;
  }

  get ok(): boolean {
    return this.checkpoints.every((c) => c.status === 'reached');
  }
}

// ── the story ────────────────────────────────────────────────────────────────────────────────────

export interface StoryResult {
  ok: boolean;
  checkpoints: Checkpoint[];
}

/** Plays `sandbox.scenario.story` through the console API. */
export async function playStory(
  sandbox: Sandbox,
  opts: { log?: (line: string) => void; timeoutMs?: number } = {},
): Promise<StoryResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const story = new Story(log, Date.now() + (opts.timeoutMs ?? 6 * 60_000));
  const consoleApi = new ConsoleClient(sandbox.consoleUrl);
  const { requester, approver, outsider } = SANDBOX_USERS;
  const plan = sandbox.scenario.story;
  const view = (user: string = requester.id) => consoleApi.state(user);
  const ephemeralsOf = async (user: string): Promise<ConsoleEphemeral[]> =>
    channelOf(await view(user), 'deployments').ephemerals;
  const newEphemeral = async (
    user: string,
    seen: number,
    match: RegExp | ((e: ConsoleEphemeral) => boolean),
  ): Promise<ConsoleEphemeral | undefined> =>
    (await ephemeralsOf(user))
      .slice(seen)
      .find((e) => (typeof match === 'function' ? match(e) : match.test(shown(e))));

  // /freight
  let seen = (await ephemeralsOf(requester.id)).length;
  /** The decisions of the story #infra-audit must show, each with who made it and its outcome. */
  const audited: AuditedDecision[] = [];
  const send = async (
    name: string,
    user: string,
    text: string,
    audit?: AuditedDecision,
  ): Promise<boolean> => {
    const sent = await story.act(name, () => consoleApi.command(user, text));
    if (sent && audit) audited.push(audit);
    return sent;
  };

  await send('/freight sent by the requester', requester.id, '/freight');
  await story.reach('/freight answered with the freight made from this repository’s commits', () =>
    newEphemeral(requester.id, seen, /Freight in /),
  );

  let alias: string | undefined;
  if (plan.dev) {
    const mark = lastTs(await view());
    seen = (await ephemeralsOf(requester.id)).length;
    await send('/promote dev sent by the requester', requester.id, '/promote dev', {
      action: 'promote',
      environment: 'dev',
      by: requester.name,
      outcome: 'accepted',
    });
    const created = await story.reach('Kargo Promotion to dev created (reply to the requester)', () =>
      newEphemeral(requester.id, seen, /Kargo promotion .* created/),
    );
    // "created: f9d6791 (brave-wampa) → dev": the freight's short name, then its alias (what people type).
    alias = /created: [0-9a-f]{7} \(([^)\s]+)\)/.exec(created?.text ?? '')?.[1];
    await followCard('dev', plan.dev, mark);
  }

  if (plan.dev === 'failed' && alias) {
    // The freight failed dev, so Kargo never verified it there: prod refuses it.
    seen = (await ephemeralsOf(requester.id)).length;
    await send(`/promote prod ${alias} sent by the requester`, requester.id, `/promote prod ${alias}`, {
      action: 'promote',
      environment: 'prod',
      by: requester.name,
      outcome: 'rejected',
    });
    await story.reach(`prod refuses ${alias}: it was never verified in dev`, () =>
      newEphemeral(requester.id, seen, notVerifiedIn('prod', 'dev')),
    );
  }

  if (plan.control) await controlStory(plan.control);

  if (plan.prod) {
    if (!alias) {
      await story.reach('freight verified in dev known', async () => undefined, { timeoutMs: 0 });
    } else {
      // RBAC first: the outsider may not promote to prod.
      const outsiderSeen = (await ephemeralsOf(outsider.id)).length;
      await send(`/promote prod ${alias} sent by the outsider`, outsider.id, `/promote prod ${alias}`, {
        action: 'promote',
        environment: 'prod',
        by: outsider.name,
        outcome: 'denied',
      });
      await story.reach('the outsider is refused (access policy, prod is default deny)', () =>
        newEphemeral(outsider.id, outsiderSeen, /can['’]t promote|not allowed|may not/i),
      );
      const mark = lastTs(await view());
      seen = (await ephemeralsOf(requester.id)).length;
      await send(`/promote prod ${alias} sent by the requester`, requester.id, `/promote prod ${alias}`, {
        action: 'promote',
        environment: 'prod',
        by: requester.name,
        outcome: 'accepted',
      });
      await story.reach('Kargo Promotion to prod created (the freight is verified in dev)', () =>
        newEphemeral(requester.id, seen, /Kargo promotion .* created/),
      );
      await followCard('prod', plan.prod, mark);
    }
  }

  if (plan.unlock) {
    const env = plan.unlock;
    seen = (await ephemeralsOf(requester.id)).length;
    // Looking at a lock decides nothing (#infra-audit shows the confirmed release, below).
    await send(`/unlock ${env} sent by the requester`, requester.id, `/unlock ${env}`);
    const offer = await story.reach(`/unlock ${env} shows the stale lock with a Release button`, () =>
      newEphemeral(requester.id, seen, (e) => hasButton(e.blocks, 'unlock_confirm')),
    );
    if (offer) {
      const confirmed = await story.act('the requester confirms (Release lock → Release it)', () =>
        consoleApi.click(requester.id, { messageTs: offer.ts, actionId: 'unlock_confirm', ephemeral: true }),
      );
      if (confirmed) {
        audited.push({
          action: 'unlock.confirm',
          environment: env,
          by: requester.name,
          outcome: 'succeeded',
        });
      }
    }
    await story.reach(`the ${env} lock is released (DynamoDB item and S3 lock file)`, async () => {
      const released = (await ephemeralsOf(requester.id)).some((e) => /Released the/.test(shown(e)));
      const backend = TERRAFORM_BACKENDS[env];
      return released && !sandbox.s3.current(backend.bucket, lockObjectKey(backend));
    });
    seen = (await ephemeralsOf(requester.id)).length;
    await send(`/unlock ${env} again`, requester.id, `/unlock ${env}`);
    await story.reach(`no lock is held for ${env} any more`, () =>
      newEphemeral(requester.id, seen, /No Terraform state lock is held/),
    );
  }

  if (plan.drift) await driftStory(plan.drift);

  if (plan.prod === 'succeeded') {
    // The story's history, as delivery metrics: one prod deployment, nothing failed.
    seen = (await ephemeralsOf(requester.id)).length;
    await send('/stats sent by the requester', requester.id, '/stats');
    await story.reach('/stats shows the four delivery metrics from the story’s history', () =>
      newEphemeral(
        requester.id,
        seen,
        (e) =>
          /Delivery metrics/.test(e.text) &&
          [
            /Deployment frequency:\* 1 prod deployment/,
            /Lead time, commit → prod:/,
            /Change failure rate:\* 0%/,
            /Time to restore:/,
          ].every((line) => line.test(shown(e))),
      ),
    );
  }

  if (plan.control && plan.prod === 'succeeded') {
    // The freight prod runs is the first it ever ran: there is nothing verified there before it.
    const env = plan.control;
    seen = (await ephemeralsOf(requester.id)).length;
    await send(`/rollback ${env} sent by the requester`, requester.id, `/rollback ${env}`);
    await story.reach(
      `/rollback ${env} finds no earlier freight verified in ${env}, and changes nothing`,
      () =>
        newEphemeral(
          requester.id,
          seen,
          /Nothing was rolled back: .*no earlier freight that was verified there/,
        ),
    );
  }

  await story.reach(
    '#infra-audit shows every decision of the story, with who made it and its outcome (paced at Slack’s one message per second)',
    async () => {
      const lines = channelOf(await view(), 'audit').messages.map((m) => plainText(m.text));
      const missing = audited.filter((d) => !lines.some((line) => auditLineShows(line, d)));
      if (missing.length > 0) throw new Error(`not yet: ${missing.map(describeDecision).join('; ')}`);
      return true;
    },
    { timeoutMs: 150_000, required: false },
  );
  await story.reach(
    'every request to the GitHub stand-in matched GitHub’s OpenAPI description',
    async () => {
      const problems = sandbox.github.violations();
      if (problems.length > 0) throw new Error(JSON.stringify(problems.slice(0, 3)));
      return true;
    },
    { timeoutMs: 1_000, required: false },
  );
  return { ok: story.ok, checkpoints: story.checkpoints };

  /**
   * Control from Slack: an approver freezes `env`; the requester's /promote is refused; /status and the
   * Home tab show the freeze; the approver lifts it, which #infra-deployments hears.
   */
  async function controlStory(env: 'dev' | 'prod'): Promise<void> {
    seen = (await ephemeralsOf(requester.id)).length;
    await send('/status sent by the requester', requester.id, '/status');
    await story.reach(`/status shows every stage${alias ? `, dev running ${alias}` : ''}`, () =>
      newEphemeral(
        requester.id,
        seen,
        (e) => /^Status — /.test(e.text) && (!alias || shown(e).includes(`runs \`${alias}\``)),
      ),
    );
    const approverSeen = (await ephemeralsOf(approver.id)).length;
    await send(
      `/freeze ${env} for 1h sent by the approver`,
      approver.id,
      `/freeze ${env} for 1h sandbox change window`,
      { action: 'freeze', environment: env, by: approver.name, outcome: 'accepted' },
    );
    await story.reach(`the approver is told ${env} is frozen`, () =>
      newEphemeral(approver.id, approverSeen, new RegExp(`${env} is frozen\\* until`)),
    );
    await story.reach(`#infra-deployments hears that ${env} is frozen`, async () =>
      channelOf(await view(), 'deployments').messages.find((m) =>
        new RegExp(`${env} is frozen\\*.*sandbox change window`).test(m.text),
      ),
    );
    seen = (await ephemeralsOf(requester.id)).length;
    await send(
      `/promote ${env}${alias ? ` ${alias}` : ''} sent by the requester during the freeze`,
      requester.id,
      `/promote ${env}${alias ? ` ${alias}` : ''}`,
      { action: 'promote', environment: env, by: requester.name, outcome: 'denied' },
    );
    await story.reach(`the requester's /promote ${env} is refused: ${env} is frozen`, () =>
      newEphemeral(requester.id, seen, new RegExp(`${env} is frozen[\\s\\S]*Nothing was started`)),
    );
    await story.act('the requester opens the app’s Home tab', () => consoleApi.home(requester.id));
    await story.reach(`the Home tab shows every stage and the ${env} freeze`, async () => {
      const home = (await view()).home;
      const text = JSON.stringify(home?.blocks ?? []);
      return /Infrastructure status/.test(text) && new RegExp(`${env} is frozen`).test(text)
        ? home
        : undefined;
    });
    const liftSeen = (await ephemeralsOf(approver.id)).length;
    await send(`/unfreeze ${env} sent by the approver`, approver.id, `/unfreeze ${env}`, {
      action: 'unfreeze',
      environment: env,
      by: approver.name,
      outcome: 'accepted',
    });
    await story.reach(
      `${env} is no longer frozen (told to the approver and #infra-deployments)`,
      async () =>
        (await newEphemeral(approver.id, liftSeen, new RegExp(`${env} is no longer frozen`))) &&
        channelOf(await view(), 'deployments').messages.find((m) =>
          new RegExp(`${env} is no longer frozen`).test(m.text),
        ),
    );
  }

  /** The drift check (started by the sandbox as the schedule would) found drift in `env`. */
  async function driftStory(env: 'dev' | 'prod'): Promise<void> {
    const driftCards = async (): Promise<ConsoleMessage[]> =>
      channelOf(await view(), 'alerts').messages.filter((m) => m.bot && m.text.includes(`Drift in ${env}`));
    const exactlyOne = async (): Promise<ConsoleMessage | undefined> => {
      const cards = await driftCards();
      if (cards.length > 1) throw new StoryFailure(`${cards.length} drift cards for ${env} in #infra-alerts`);
      return cards[0];
    };
    const card = await story.reach(
      `the drift check found drift in ${env}: one drift card in #infra-alerts`,
      exactlyOne,
    );
    if (card) audited.push({ action: 'drift.detected', environment: env, outcome: 'failed' });
    // The schedule fires again and finds the same drift.
    let again: number | undefined;
    await story.act('GitHub runs the drift check again (the same drift)', async () => {
      const scenario = sandbox.scenario.drift;
      again = sandbox.github.startDriftRun(scenario ? { scenario: scenarioNamed(scenario) } : {}).id;
    });
    // /drift names the newest check once the bot has read it (asked again until it has).
    seen = (await ephemeralsOf(requester.id)).length;
    let askedAt = 0;
    await story.reach(
      `/drift ${env} shows the newest check and what drifted`,
      async () => {
        const answer = await newEphemeral(
          requester.id,
          seen,
          (e) => again !== undefined && shown(e).includes(`runs/${again}`),
        );
        if (answer) return /aws_security_group\.eks_nodes/.test(shown(answer)) ? answer : undefined;
        if (Date.now() - askedAt > 3_000) {
          askedAt = Date.now();
          await consoleApi.command(requester.id, `/drift ${env}`);
        }
        return undefined;
      },
      { timeoutMs: 120_000 },
    );
    await story.reach(
      `still exactly one drift card for ${env}, unchanged (same drift: nothing new)`,
      async () => {
        const one = await exactlyOne();
        return one && one.updateCount === 0 && one.replies.length === 0 ? one : undefined;
      },
    );
  }

  /** Four-eyes on prod: the requester's own Approve is refused, the approver's releases the run. */
  async function approveProd(card: () => Promise<ConsoleMessage | undefined>): Promise<void> {
    const waiting = await story.reach('the prod card asks for approval (Approve / Reject)', async () => {
      const c = await card();
      return c && hasButton(c.blocks, APPROVE_ACTION_ID) ? c : undefined;
    });
    if (!waiting) return;
    // What prod will change, before anyone approves: the risk in one line, and the resources on demand.
    await story.reach(
      'the approval card states the plan’s risk (destroyed or replaced) above the buttons',
      async () => {
        const c = await card();
        return c && /\*Risk:\* (nothing is destroyed or replaced|replaces|destroys)/.test(shown(c))
          ? c
          : undefined;
      },
    );
    const detailsSeen = (await ephemeralsOf(approver.id)).length;
    await story.act('the approver clicks Show resources on the prod card', async () =>
      consoleApi.click(approver.id, {
        messageTs: ((await card()) ?? waiting).ts,
        actionId: PLAN_DETAILS_ACTION_ID,
        ephemeral: false,
      }),
    );
    await story.reach('the approver sees the plan’s resources by action, only to them', () =>
      newEphemeral(
        approver.id,
        detailsSeen,
        (e) => /^Plan for prod/.test(e.text) && /`[a-z0-9_]+\.[^`]+`/.test(shown(e)),
      ),
    );
    const approve = (user: string, messageTs: string) =>
      consoleApi.click(user, { messageTs, actionId: APPROVE_ACTION_ID, ephemeral: false });

    seen = (await ephemeralsOf(requester.id)).length;
    await story.act('the requester clicks Approve on their own promotion', () =>
      approve(requester.id, waiting.ts),
    );
    await story.reach('the requester is refused, and the card still waits', async () => {
      const refused = await newEphemeral(requester.id, seen, /not allowed to approve|cannot approve|own/i);
      const c = await card();
      return refused && c && hasButton(c.blocks, APPROVE_ACTION_ID);
    });
    audited.push({ action: 'approve.button', environment: 'prod', by: requester.name, outcome: 'denied' });

    const approverSeen = (await ephemeralsOf(approver.id)).length;
    await story.act('the approver clicks Approve', async () =>
      approve(approver.id, ((await card()) ?? waiting).ts),
    );
    await story.reach('the approver is told GitHub lets the deployment go ahead', () =>
      newEphemeral(approver.id, approverSeen, /Approved/),
    );
    await story.reach('the card shows who approved, and the apply starts', async () => {
      const c = await card();
      return c && !hasButton(c.blocks, APPROVE_ACTION_ID) && shown(c).includes(approver.id);
    });
    audited.push({ action: 'approve', environment: 'prod', by: approver.name, outcome: 'succeeded' });
  }

  /** The card of a promotion to `env` from the first sign of life to its end (and what follows it). */
  async function followCard(
    env: 'dev' | 'prod',
    expected: 'succeeded' | 'failed',
    after: string,
  ): Promise<void> {
    const card = async () => findCard(await view(), env, after);
    await story.reach(`the ${env} card appears in #infra-deployments`, card);
    await story.reach(`the ${env} card links the GitHub run`, async () => {
      const c = await card();
      return c && /actions\/runs\/\d+/.test(shown(c));
    });
    if (env === 'prod' && expected === 'succeeded') {
      await story.reach(
        'the prod gates passed on the card (Trivy hard, OPA on the prod HCL + plan)',
        async () => {
          const c = await card();
          return c && PROD_GATE_ROWS.every((label) => rowPassed(shown(c), label)) ? c : undefined;
        },
      );
      // TODO(approvals): the lead enables this step with `"approval": true` in pass.json; until then the
      // prod run goes straight from the gates to the apply.
      if (sandbox.scenario.approval) await approveProd(card);
    }
    const word = expected === 'succeeded' ? 'succeeded' : 'failed';
    await story.reach(
      `the ${env} card ends ${word}`,
      async () => {
        const c = await card();
        if (!c) return undefined;
        const text = c.text.toLowerCase();
        if (text.includes(`promotion to ${env} ${word}`)) return c;
        const other = ['succeeded', 'failed', 'errored', 'aborted'].find(
          (w) => w !== word && text.includes(`promotion to ${env} ${w}`),
        );
        if (other) throw new StoryFailure(`it ended ${other}: ${plainText(c.text)}`);
        return undefined;
      },
      { timeoutMs: 150_000 },
    );
    if (expected === 'succeeded') {
      await story.reach(`Terraform outputs of ${env} in the card’s thread`, async () => {
        const c = await card();
        return c?.replies.some((r) => /instance_id|i-0[0-9a-f]+/.test(shown(r)));
      });
      // The success is told on the card itself (no separate line): how long it took, and which freight.
      await story.reach(`the ${env} card says it succeeded, in how long, with which freight`, async () => {
        const c = await card();
        return c && cardTellsSuccess(c, alias) ? c : undefined;
      });
    } else {
      const alert = sandbox.scenario.story.alert ?? '';
      await story.reach(`an alert in #infra-alerts names the failed job (${alert || 'any'})`, async () =>
        channelOf(await view(), 'alerts').messages.some(
          (m) =>
            m.text.includes(`Promotion to ${env}`) && shown(m).toLowerCase().includes(alert.toLowerCase()),
        ),
      );
    }
  }
}

// ── what the story looks for ─────────────────────────────────────────────────────────────────────

/** A decision #infra-audit must show: what was decided, where, by whom, and how it ended. */
export interface AuditedDecision {
  /** The record's action: `promote`, `approve.button`, `unlock.confirm`, `drift.detected`, … */
  action: string;
  environment?: string;
  /** The Slack handle of who decided; any actor when absent (the system, Kargo). */
  by?: string;
  /** accepted, denied, rejected, succeeded, failed. */
  outcome: string;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether an #infra-audit line (as plain text) shows the decision: `*promote* prod by @alice — accepted: …`,
 * where the line may name the decision's target after the environment (`*promote* prod `brave-wampa` by …`).
 */
export function auditLineShows(line: string, decision: AuditedDecision): boolean {
  const where = decision.environment ? ` ${escapeRegExp(decision.environment)}` : '';
  const who = decision.by ? `@${escapeRegExp(decision.by)}` : '\\S+';
  return new RegExp(
    `\\*${escapeRegExp(decision.action)}\\*${where} (?:\`[^\`]*\` )?by ${who} — ${escapeRegExp(decision.outcome)}\\b`,
  ).test(line);
}

export const describeDecision = (d: AuditedDecision): string =>
  `${d.action}${d.environment ? ` ${d.environment}` : ''}${d.by ? ` by @${d.by}` : ''} — ${d.outcome}`;

/**
 * The refusal of freight that a stage upstream never verified: `:no_entry_sign: brave-wampa cannot go to
 * *prod*: f9d6791 (brave-wampa) is not verified in dev yet` (src/worker/promote.ts, src/domain/availability.ts).
 */
export const notVerifiedIn = (environment: string, upstream: string): RegExp =>
  new RegExp(
    `cannot go to \\*${escapeRegExp(environment)}\\*: .*\\bis not verified in ${escapeRegExp(upstream)}\\b`,
  );

/**
 * A succeeded card tells the success itself (src/domain/render.ts: no separate success line): its status
 * line says `*Succeeded* in <how long>`, and it names the freight.
 */
export function cardTellsSuccess(
  card: { text: string; blocks?: unknown[] },
  alias: string | undefined,
): boolean {
  const text = shown(card);
  return /\*Succeeded\* in \d/.test(text) && (alias === undefined || text.includes(alias));
}

/** The gate rows of a prod run that must pass before anyone is asked to approve (src/domain/gates.ts). */
const PROD_GATE_ROWS = ['AWS · Trivy', 'OPA on prod (HCL + plan)'];

/** A checklist row shows ✅ before its label (the label may be a link: `<url|label>`). */
const rowPassed = (text: string, label: string): boolean =>
  text.includes(`✅ ${label}`) || new RegExp(`✅ <[^|>]*\\|${label.replace(/[()+]/g, '\\$&')}>`).test(text);

const lastTs = (state: ConsoleState): string =>
  channelOf(state, 'deployments').messages.reduce((max, m) => (Number(m.ts) > Number(max) ? m.ts : max), '0');

// ── the transcript ───────────────────────────────────────────────────────────────────────────────

const names = new Map<string, string>([
  ...Object.values(SANDBOX_USERS).map((u) => [u.id, u.name] as [string, string]),
  ['U0CHATOPS', 'chatops'],
]);
const channelNames = new Map<string, string>(Object.values(SANDBOX_CHANNELS).map((c) => [c.id, c.name]));

/** Slack mrkdwn → plain text for a terminal: links to their labels, mentions to names, entities decoded. */
export function plainText(text: string): string {
  return text
    .replace(/<@([UW][A-Z0-9]+)>/g, (_, id: string) => `@${names.get(id) ?? id}`)
    .replace(/<#([CG][A-Z0-9]+)(?:\|[^>]*)?>/g, (_, id: string) => `#${channelNames.get(id) ?? id}`)
    .replace(/<([^|>]+)\|([^>]+)>/g, '$2')
    .replace(/<([^>]+)>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

const clock = (ts: string): string => new Date(Number(ts) * 1000).toTimeString().slice(0, 8);
const firstLine = (text: string, max = 140): string => {
  const line = plainText(text).split('\n')[0]?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** One line per message: time, channel, author, first line of text; thread replies indented below. */
export function transcript(
  state: ConsoleState,
  ephemeralsFor: Array<{ user: string; state: ConsoleState }>,
): string {
  const lines: string[] = ['What each channel received:'];
  for (const channel of state.channels) {
    const tag = `#${channel.name}`.padEnd(19);
    if (channel.messages.length === 0) lines.push(`  --:--:--  ${tag} (nothing)`);
    for (const m of channel.messages) {
      const edits = m.updateCount > 0 ? `  [updated ${m.updateCount}×]` : '';
      lines.push(`  ${clock(m.ts)}  ${tag} ${names.get(m.user) ?? m.user}: ${firstLine(m.text)}${edits}`);
      for (const r of m.replies) {
        lines.push(`      ↳ ${clock(r.ts)}  ${tag} ${names.get(r.user) ?? r.user}: ${firstLine(r.text)}`);
      }
    }
  }
  for (const { user, state: own } of ephemeralsFor) {
    const ephemerals = own.channels.flatMap((c) => c.ephemerals.map((e) => ({ c, e })));
    if (ephemerals.length === 0) continue;
    lines.push(`Only visible to ${names.get(user) ?? user}:`);
    for (const { c, e } of ephemerals) {
      lines.push(`  ${clock(e.ts)}  ${`#${c.name}`.padEnd(19)} ${firstLine(e.text || shown(e))}`);
    }
  }
  return lines.join('\n');
}

/** Resolves once `count` has not changed for `quietMs` (or after `maxMs`). */
async function settle(count: () => Promise<number>, quietMs = 3_000, maxMs = 120_000): Promise<void> {
  const until = Date.now() + maxMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < until) {
    const now = await count();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return;
    }
    await sleep(250);
  }
}

// ── the command ──────────────────────────────────────────────────────────────────────────────────

export interface HeadlessOptions extends Pick<SandboxOptions, 'speed' | 'gates' | 'redisUrl'> {
  scenario: SandboxScenario;
  /** Overall limit for the story (the sandbox start not included). Default 6 minutes. */
  timeoutMs?: number;
}

/** Starts the sandbox, plays the story, prints the transcript and the checkpoints. Returns the exit code. */
export async function runHeadless(options: HeadlessOptions): Promise<number> {
  const started = Date.now();
  const out = (line: string): void => console.log(line);
  out(`sandbox (headless): scenario ${options.scenario.name} — ${options.scenario.description}`);
  let sandbox: Sandbox | undefined;
  const stopOnSignal = (): void => {
    out('\ninterrupted: stopping the sandbox …');
    void (sandbox?.stop() ?? Promise.resolve()).then(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    sandbox = await startSandbox({
      scenario: options.scenario,
      ...(options.speed ? { speed: options.speed } : {}),
      ...(options.gates ? { gates: options.gates } : {}),
      ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
      notice: (line) => out(`  · ${line}`),
    });
    out(
      `  started in ${((Date.now() - started) / 1000).toFixed(1)} s (console ${sandbox.consoleUrl}, logs ${sandbox.logFile})`,
    );
    const story = options.scenario.story;
    if (story.dev || story.prod) {
      // Runs started before the real gates are done would use the scenario's outcomes: wait for them.
      if (sandbox.gatesNow().kind === 'pending') {
        out(`  gates: ${sandbox.gatesNow().detail}; the story starts when they are done`);
      }
      out(`  gate outcomes: ${(await sandbox.gates).detail}`);
    }
    out('');
    out('Story:');
    const result = await playStory(sandbox, {
      log: out,
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    // The bot posts at Slack's pace (one message per second per channel) and #infra-audit mirrors every
    // event: let it catch up (until nothing new arrives for 3 s, at most 2 minutes) before the transcript.
    const api = new ConsoleClient(sandbox.consoleUrl);
    out('');
    out('Waiting for the channels to catch up (Slack’s pace: one message per second per channel) …');
    await settle(async () => {
      const state = await api.state(SANDBOX_USERS.requester.id);
      return state.channels.reduce(
        (n, c) => n + c.messages.length + c.messages.reduce((r, m) => r + m.replies.length, 0),
        0,
      );
    });
    const users = Object.values(SANDBOX_USERS).map((u) => u.id);
    const states = await Promise.all(users.map(async (user) => ({ user, state: await api.state(user) })));
    out('');
    out(transcript(states[0]!.state, states));
    out('');
    const failed = result.checkpoints.filter((c) => c.status === 'failed');
    const skipped = result.checkpoints.filter((c) => c.status === 'skipped');
    const total = ((Date.now() - started) / 1000).toFixed(0);
    const count = result.checkpoints.length;
    if (result.ok) {
      out(`Story complete: ${count} of ${count} checkpoints reached in ${total} s.`);
    } else {
      out(
        `Story NOT complete (${total} s): ${failed.length + skipped.length} of ${count} checkpoints not reached.`,
      );
      for (const c of failed) out(`  ✗ ${c.name} — ${c.detail ?? 'failed'}`);
      if (skipped.length > 0) out(`  skipped after that: ${skipped.map((c) => c.name).join('; ')}`);
      out(`The bot's log: ${sandbox.logFile}`);
    }
    return result.ok ? 0 : 1;
  } finally {
    await sandbox?.stop();
  }
}
