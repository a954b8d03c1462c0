// /cancel: parsing, and who may stop a promotion; four-eyes needs a second approver.
import { describe, expect, it } from '@jest/globals';
import { authorizeCancel, otherApprovers, type AccessPolicy } from '../../src/domain/access.js';
import { parseCommand } from '../../src/domain/commands.js';

const policy: AccessPolicy = {
  promote: { dev: { users: [], groups: [], everyone: true }, prod: { users: ['U0ALICE'], groups: [] } },
  approve: { dev: { users: [], groups: [] }, prod: { users: ['U0BOB'], groups: ['S0SRE'] } },
  unlock: { dev: { users: [], groups: [] }, prod: { users: [], groups: [] } },
};

describe('/cancel', () => {
  it('parses a promotion, card or alias with an optional reason', () => {
    expect(parseCommand('/cancel', 'prod.01k3x9q8z5w7v2m4n6p8r0s2t4.f5f87aa wrong freight')).toEqual({
      ok: true,
      command: { kind: 'cancel', target: 'prod.01k3x9q8z5w7v2m4n6p8r0s2t4.f5f87aa', reason: 'wrong freight' },
    });
    expect(parseCommand('/cancel', 'req-0123456789abcdef')).toEqual({
      ok: true,
      command: { kind: 'cancel', target: 'req-0123456789abcdef' },
    });
    expect(parseCommand('/cancel', '*Frozen-Tauntaun*')).toEqual({
      ok: true,
      command: { kind: 'cancel', target: 'frozen-tauntaun' },
    });
  });

  it('answers nothing or nonsense with the usage line', () => {
    const empty = parseCommand('/cancel', '');
    expect(empty.ok).toBe(false);
    expect(!empty.ok && empty.message).toMatch(/Usage: \/cancel <promotion \| freight alias> \[reason\]/);
    expect(parseCommand('/cancel', 'not_a_name!').ok).toBe(false);
    expect(parseCommand('/cancel', `x ${'y'.repeat(400)}`).ok).toBe(false);
  });

  it('lets the requester or an approver of the environment stop a promotion, nobody else', () => {
    expect(authorizeCancel(policy, 'prod', { slackUserId: 'U0ALICE' }, 'U0ALICE').allowed).toBe(true);
    expect(authorizeCancel(policy, 'prod', { slackUserId: 'U0BOB' }, 'U0ALICE').allowed).toBe(true);
    expect(
      authorizeCancel(policy, 'prod', { slackUserId: 'U0CAROL', groupIds: ['S0SRE'] }, 'U0ALICE').allowed,
    ).toBe(true);
    const eve = authorizeCancel(policy, 'prod', { slackUserId: 'U0EVE' }, 'U0ALICE');
    expect(eve).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('requested this promotion'),
    });
    // A promotion nobody requested in Slack (auto-promotion): approvers only.
    expect(authorizeCancel(policy, 'prod', { slackUserId: 'U0ALICE' }, undefined).allowed).toBe(false);
  });
});

describe('otherApprovers (four-eyes needs a second person)', () => {
  it('counts listed users and group members, without the requester', () => {
    const members = new Map([['S0SRE', ['U0CAROL', 'U0BOB']]]);
    expect(otherApprovers(policy.approve.prod, members, 'U0BOB')).toEqual(['U0CAROL']);
    expect(otherApprovers(policy.approve.prod, new Map(), 'U0BOB')).toEqual([]);
    expect(otherApprovers(policy.approve.prod, new Map(), 'U0ALICE')).toEqual(['U0BOB']);
  });
});
