// The `audit-record` job on real Redis (the audit stream and its per-card index), answering through a real
// response_url of the Slack stand-in: the full record of one promotion, found by its Kargo Promotion name
// or its card id, paged with More; refused outside #infra-audit and for what the stream does not know.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { AuditLog } from '../../src/audit/stream.js';
import { AUDIT_RECORD_ACTION_ID } from '../../src/domain/audit-mirror.js';
import { auditRecordFor } from '../../src/domain/audit-records.js';
import { parseDetailsValue } from '../../src/domain/details.js';
import type { AuditRecordJob } from '../../src/queue/jobs.js';
import { SlackStandIn } from '../../src/sandbox/slack-standin.js';
import { processAuditRecord, type AuditRecordDeps } from '../../src/worker/audit-record.js';
import { createResponder } from '../../src/worker/responder.js';
import { CARD_ID, PROMOTION, happyPath } from '../domain/builders.js';
import { REDIS, deleteKeys, recordingLogger, uniquePrefix } from '../slack/test-support.js';

const PREFIX = uniquePrefix('audit-record');
const AUDIT = 'C0AUDIT';
const DEPLOYS = 'C0DEPLOYS';
const LONG_CARD = 'promo-00000000000000ff';

let standIn: SlackStandIn;
let admin: Redis;
let audit: AuditLog;
let deps: AuditRecordDeps;

beforeAll(async () => {
  standIn = await SlackStandIn.start({ rateLimits: false });
  admin = new Redis(REDIS);
  audit = new AuditLog({ connection: REDIS, prefix: PREFIX });
  for (const record of happyPath().map(auditRecordFor)) await audit.append(record);
  // A promotion whose record needs several pages.
  for (let n = 0; n < 300; n++) {
    await audit.append({
      id: `event:gate:${n}`,
      at: new Date(Date.UTC(2026, 10, 27, 10, 0, n % 60)).toISOString(),
      actor: 'system',
      action: 'gate.result',
      environment: 'prod',
      outcome: 'succeeded',
      detail: `Gate number ${n} passed ${'with a long sentence '.repeat(8)}.`,
      cardId: LONG_CARD,
    });
  }
  const { logger } = recordingLogger();
  deps = {
    audit,
    auditChannelId: AUDIT,
    cardLink: (cardId) =>
      Promise.resolve(cardId === CARD_ID ? 'https://acme.slack.com/archives/C0DEPLOYS/p1' : undefined),
    responder: createResponder(logger),
    logger,
  };
});
afterAll(async () => {
  await audit.close();
  await deleteKeys(admin, PREFIX);
  await admin.quit();
  await standIn.close();
});

let user = 0;
/** Runs the job as the worker does for a request from `channel`; returns what the asker was shown. */
async function ask(target: string, channel = AUDIT, page = 1) {
  const asker = `U0ASKER${++user}`;
  const job: AuditRecordJob = {
    kind: 'audit-record',
    requestId: `audit-${user}`,
    via: 'command',
    target,
    page,
    actor: { slackUserId: asker },
    reply: { channelId: channel, responseUrl: standIn.createResponseUrl({ channel, user: asker }) },
  };
  await processAuditRecord(job, deps);
  const answers = standIn.ephemeral({ user: asker });
  expect(answers).toHaveLength(1);
  return answers[0]!;
}

const linesOf = (answer: { blocks?: unknown[] }): string[] =>
  ((answer.blocks ?? []) as Array<{ type: string; text?: { text: string } }>)
    .filter((b) => b.type === 'section')
    .flatMap((b) => (b.text?.text ?? '').split('\n'));

const moreOf = (answer: { blocks?: unknown[] }) =>
  ((answer.blocks ?? []) as Array<{ elements?: Array<{ action_id?: string; value?: string }> }>)
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === AUDIT_RECORD_ACTION_ID);

describe('the full record of a promotion', () => {
  it('by Kargo Promotion name and by card id: every record, oldest first, ephemeral, with a link to the card', async () => {
    const records = happyPath().map(auditRecordFor);
    for (const target of [PROMOTION, CARD_ID]) {
      const answer = await ask(target);
      expect(answer.via).toBe('response_url');
      expect(answer.text).toBe(`Full audit record of ${PROMOTION}: ${records.length} records`);
      const lines = linesOf(answer);
      expect(lines).toHaveLength(records.length);
      lines.forEach((line, i) => expect(line).toContain(`*${records[i]!.action}*`));
      expect(JSON.stringify(answer.blocks)).toContain(
        '<https://acme.slack.com/archives/C0DEPLOYS/p1|its card>',
      );
    }
    const sent = standIn.calls('response_url').map((c) => [c.args.response_type, c.args.replace_original]);
    expect(sent.every(([type, replace]) => type === 'ephemeral' && replace === false)).toBe(true);
  });

  it('pages a long record; each More names the next page, and the pages hold every record once', async () => {
    const first = await ask(LONG_CARD);
    const pages = Number(/page 1 of (\d+)/.exec(first.text)?.[1]);
    expect(pages).toBeGreaterThan(1);
    const lines = linesOf(first);
    let answer = first;
    for (let page = 2; page <= pages; page++) {
      const next = parseDetailsValue(moreOf(answer)?.value);
      expect(next).toEqual({ cardId: LONG_CARD, page });
      answer = await ask(LONG_CARD, AUDIT, page);
      lines.push(...linesOf(answer));
    }
    expect(moreOf(answer)).toBeUndefined();
    expect(lines.map((line) => /Gate number (\d+)/.exec(line)?.[1])).toEqual(
      Array.from({ length: 300 }, (_, n) => String(n)),
    );
  });

  it('is for whoever can see #infra-audit: asked from elsewhere, nothing is shown', async () => {
    const answer = await ask(PROMOTION, DEPLOYS);
    expect(answer.text).toMatch(/for whoever can see <#C0AUDIT>/);
    expect(answer.blocks ?? []).toEqual([]);
    expect(answer.text).not.toContain('promotion.phase');
  });

  it('refuses what it does not know, in plain words', async () => {
    for (const target of ['prod.nothing-like-this.0000000', 'req-0000000000000000']) {
      const answer = await ask(target);
      expect(answer.text).toContain(`I know no audit record of \`${target}\``);
    }
  });
});
