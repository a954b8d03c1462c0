// The pieces of the public edge, one by one: bounded body reads, JSON depth, Slack's signature window,
// the shape of signed Slack payloads, and refusal summaries.
import { createHmac } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { BodySlots, readBoundedBody, type BodyResult } from '../../src/web/body.js';
import { jsonDepth, parseJsonObject } from '../../src/web/json.js';
import { RefusalTracker } from '../../src/web/refusals.js';
import { checkSlackPayload } from '../../src/web/slack-payload.js';
import { verifySlackSignature } from '../../src/web/slack-signature.js';
import type { AuditRecord } from '../../src/domain/audit.js';
import { blockActionsBody, slashCommandBody } from '../../src/sandbox/slack-requests.js';

describe('readBoundedBody', () => {
  let server: Server;
  let port = 0;
  let last: Promise<BodyResult> = Promise.resolve({ ok: false, reason: 'body too large' });
  const limits = { maxBytes: 1024, timeoutMs: 300 };

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      last = readBoundedBody(req, limits);
      void last.then((r) => {
        res.writeHead(r.ok ? 200 : 413, { connection: 'close' });
        res.end(r.ok ? String(r.body.length) : r.reason);
        if (!r.ok) res.once('finish', () => req.socket.destroy());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const send = (headers: Record<string, string>, chunks: Buffer[], pauseMs = 0): Promise<number> =>
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(-1));
      void (async () => {
        for (const c of chunks) {
          if (!req.write(c)) await new Promise((r) => req.once('drain', r));
          if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
        }
        req.end();
      })();
    });

  it('reads a body within the limit', async () => {
    expect(await send({ 'content-length': '10' }, [Buffer.alloc(10)])).toBe(200);
    expect(await last).toMatchObject({ ok: true });
  });

  it('refuses a declared Content-Length over the limit before reading a byte', async () => {
    const status = await send({ 'content-length': String(25 * 1024 * 1024) }, [Buffer.alloc(10)]);
    expect([413, -1]).toContain(status);
    expect(await last).toEqual({ ok: false, reason: 'body too large' });
  });

  it('stops a chunked body as soon as it passes the limit, without buffering the rest', async () => {
    const status = await send(
      { 'transfer-encoding': 'chunked' },
      Array.from({ length: 8 }, () => Buffer.alloc(512)),
    );
    expect([413, -1]).toContain(status);
    expect(await last).toEqual({ ok: false, reason: 'body too large' });
  });

  it('gives up on a body that trickles in slower than the time limit', async () => {
    await send(
      { 'transfer-encoding': 'chunked' },
      Array.from({ length: 6 }, () => Buffer.alloc(8)),
      100,
    );
    expect(await last).toEqual({ ok: false, reason: 'body read timed out' });
  });
});

describe('BodySlots', () => {
  it('hands out at most its capacity and refuses the rest at once', () => {
    const slots = new BodySlots(2);
    expect([slots.tryAcquire(), slots.tryAcquire(), slots.tryAcquire()]).toEqual([true, true, false]);
    slots.release();
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.busy).toBe(2);
  });
});

describe('JSON with bounded nesting', () => {
  it('measures depth outside strings only', () => {
    expect(jsonDepth('{"a":[1,{"b":"[[[[{{{"}]}')).toBe(3);
    expect(jsonDepth('{"a":"\\"[["}')).toBe(1);
  });

  it('refuses deeply nested JSON before parsing it, and anything but an object', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(parseJsonObject(deep)).toEqual({ ok: false, reason: 'JSON nested deeper than 64 levels' });
    expect(parseJsonObject('null')).toEqual({ ok: false, reason: 'body is not a JSON object' });
    expect(parseJsonObject('[1]')).toEqual({ ok: false, reason: 'body is not a JSON object' });
    expect(parseJsonObject('{"a":')).toEqual({ ok: false, reason: 'body is not valid JSON' });
    expect(parseJsonObject('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
  });
});

describe('Slack signature', () => {
  const secret = 'a-signing-secret-0123456789';
  const body = Buffer.from('command=%2Fpromote&text=dev');
  const signed = (ts: number, b = body) => ({
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${ts}:${b.toString()}`).digest('hex')}`,
  });
  const now = 1_800_000_000;

  it('accepts a fresh, correctly signed request', () => {
    expect(verifySlackSignature(secret, signed(now - 10), body, now)).toEqual({ ok: true });
  });

  it('refuses timestamps more than five minutes away in either direction', () => {
    expect(verifySlackSignature(secret, signed(now - 301), body, now)).toEqual({
      ok: false,
      reason: 'timestamp outside ±5 minutes',
    });
    expect(verifySlackSignature(secret, signed(now + 301), body, now)).toEqual({
      ok: false,
      reason: 'timestamp outside ±5 minutes',
    });
    expect(verifySlackSignature(secret, signed(now + 299), body, now)).toEqual({ ok: true });
  });

  it('refuses a tampered body, a wrong secret and malformed or missing headers', () => {
    expect(
      verifySlackSignature(secret, signed(now), Buffer.from('command=%2Fpromote&text=prod'), now),
    ).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    expect(verifySlackSignature('another-secret-0123456', signed(now), body, now)).toMatchObject({
      ok: false,
    });
    expect(verifySlackSignature(secret, {}, body, now)).toEqual({
      ok: false,
      reason: 'missing signature headers',
    });
    expect(
      verifySlackSignature(
        secret,
        { ...signed(now), 'x-slack-signature': `v0=${'x'.repeat(5000)}` },
        body,
        now,
      ),
    ).toEqual({ ok: false, reason: 'malformed signature headers' });
  });
});

describe('signed Slack payloads must have the shape their handlers read', () => {
  const form = 'application/x-www-form-urlencoded';
  const command = (overrides: Record<string, string | undefined>) => {
    const params = new URLSearchParams(
      slashCommandBody({ command: '/promote', text: 'dev', userId: 'U0ALICE001', channelId: 'C0DEPLOY001' }),
    );
    for (const [k, v] of Object.entries(overrides)) {
      if (v === undefined) params.delete(k);
      else params.set(k, v);
    }
    return Buffer.from(params.toString());
  };

  it('accepts a complete slash command and a complete click, and hands on the body it parsed', () => {
    const slash = checkSlackPayload(command({}), form);
    expect(slash).toMatchObject({ ok: true, kind: 'slash-command' });
    expect(slash.ok && slash.body).toMatchObject({ command: '/promote', text: 'dev', user_id: 'U0ALICE001' });
    const click = blockActionsBody({
      type: 'block_actions',
      user: { id: 'U0BOB00002' },
      trigger_id: '1.2.abc',
      actions: [{ action_id: 'approve', value: 'x' }],
    });
    expect(checkSlackPayload(Buffer.from(click), form)).toEqual({
      ok: true,
      kind: 'interaction',
      body: {
        type: 'block_actions',
        user: { id: 'U0BOB00002' },
        trigger_id: '1.2.abc',
        actions: [{ action_id: 'approve', value: 'x' }],
      },
    });
  });

  it('refuses a slash command without user_id (it would be queued and then dropped)', () => {
    expect(checkSlackPayload(command({ user_id: undefined }), form)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('user_id'),
    });
  });

  it('names the sender of a malformed command when there is one, so it can be audited', () => {
    expect(checkSlackPayload(command({ trigger_id: undefined }), form)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('trigger_id'),
      userId: 'U0ALICE001',
    });
  });

  it('refuses a click without user, a payload of null, and deeply nested payloads', () => {
    const noUser = blockActionsBody({ type: 'block_actions', actions: [{ action_id: 'approve' }] });
    expect(checkSlackPayload(Buffer.from(noUser), form)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('user'),
    });
    expect(checkSlackPayload(Buffer.from('payload=null'), form)).toMatchObject({
      ok: false,
      reason: 'payload: body is not a JSON object',
    });
    const deep = `payload=${encodeURIComponent(`{"type":"block_actions","x":${'['.repeat(5000)}${']'.repeat(5000)}}`)}`;
    expect(checkSlackPayload(Buffer.from(deep), form)).toMatchObject({
      ok: false,
      reason: 'payload: JSON nested deeper than 64 levels',
    });
    expect(checkSlackPayload(Buffer.from('hello=world'), form)).toMatchObject({ ok: false });
  });
});

describe('RefusalTracker', () => {
  it('counts every refusal and writes one summary per route and reason per interval', async () => {
    const registry = new Registry();
    const counter = new Counter({
      name: 'refused',
      help: 'h',
      labelNames: ['route', 'reason'],
      registers: [registry],
    });
    const appended: AuditRecord[] = [];
    let clock = Date.parse('2026-12-07T10:00:00Z');
    const tracker = new RefusalTracker({
      counter,
      audit: { append: async (r) => void appended.push(r) },
      logger: pino({ level: 'silent' }),
      intervalMs: 3_600_000,
      now: () => new Date(clock),
    });
    for (let i = 0; i < 500; i++) tracker.refused('/github/webhook', 'bad signature');
    for (let i = 0; i < 3; i++) tracker.refused('/slack/events', 'body too large');
    expect(appended).toEqual([]);
    clock += 60_000;
    await tracker.flush();
    expect(appended.map((r) => r.detail).sort()).toEqual([
      '3 refused requests on /slack/events in the last minute: body too large',
      '500 refused requests on /github/webhook in the last minute: bad signature',
    ]);
    expect(appended.every((r) => r.action === 'edge.refused' && r.outcome === 'denied')).toBe(true);
    // Nothing refused since: nothing written.
    clock += 60_000;
    await tracker.flush();
    expect(appended).toHaveLength(2);
    const metric = await registry.getSingleMetricAsString('refused');
    expect(metric).toContain('refused{route="/github/webhook",reason="bad signature"} 500');
    await tracker.close();
  });
});
