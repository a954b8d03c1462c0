import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_ACCESS_POLICY,
  authorize,
  authorizeApproval,
  validateAccessPolicy,
  type AccessPolicy,
} from '../../src/domain/access.js';
import { ErrorCode } from '../../src/domain/errors.js';
import type { Actor } from '../../src/domain/types.js';

const jane: Actor = { slackUserId: 'U0JANE', groupIds: ['S0PLATFORM'] };
const bob: Actor = { slackUserId: 'U0BOB' };
const carol: Actor = { slackUserId: 'U0CAROL', groupIds: ['S0SRE'] };

const policy: AccessPolicy = {
  promote: {
    dev: { users: [], groups: [], everyone: true },
    prod: { users: ['U0BOB'], groups: ['S0PLATFORM'] },
  },
  approve: {
    dev: { users: [], groups: [] },
    prod: { users: ['U0JANE'], groups: ['S0SRE'] },
  },
  unlock: {
    dev: { users: ['U0BOB'], groups: [] },
    prod: { users: [], groups: [] },
  },
};

describe('authorize', () => {
  it('allows a user listed by id', () => {
    expect(authorize(policy, 'promote', 'prod', bob)).toEqual({ allowed: true });
  });

  it('denies a user who is not listed, saying how to get access', () => {
    const result = authorize(policy, 'unlock', 'dev', jane);
    expect(result).toEqual({
      allowed: false,
      code: ErrorCode.Forbidden,
      reason: expect.stringContaining('You are not allowed to unlock the Terraform state of dev'),
    });
  });

  it('allows a member of a listed user group', () => {
    expect(authorize(policy, 'promote', 'prod', jane)).toEqual({ allowed: true });
  });

  it('denies when none of the actor’s groups is listed', () => {
    expect(authorize(policy, 'promote', 'prod', carol).allowed).toBe(false);
  });

  it('allows everyone on dev when the policy says so', () => {
    expect(authorize(policy, 'promote', 'dev', { slackUserId: 'U0ANYONE' })).toEqual({ allowed: true });
  });

  it('ignores everyone on prod: prod is default deny', () => {
    const open: AccessPolicy = {
      ...policy,
      promote: { ...policy.promote, prod: { users: [], groups: [], everyone: true } },
    };
    const result = authorize(open, 'promote', 'prod', { slackUserId: 'U0ANYONE' });
    expect(result).toMatchObject({ allowed: false, code: ErrorCode.Forbidden });
    expect(!result.allowed && result.reason).toMatch(/"everyone" does not apply to prod/);
  });

  it('still allows listed users on prod when everyone is (wrongly) set', () => {
    const open: AccessPolicy = {
      ...policy,
      promote: { ...policy.promote, prod: { users: ['U0BOB'], groups: [], everyone: true } },
    };
    expect(authorize(open, 'promote', 'prod', bob).allowed).toBe(true);
  });

  it('treats a missing policy entry as nobody', () => {
    const partial = { promote: { dev: { users: [], groups: [] } } } as unknown as AccessPolicy;
    expect(authorize(partial, 'approve', 'prod', jane).allowed).toBe(false);
  });
});

describe('DEFAULT_ACCESS_POLICY', () => {
  it('lets anyone promote to dev', () => {
    expect(authorize(DEFAULT_ACCESS_POLICY, 'promote', 'dev', bob).allowed).toBe(true);
  });

  it('lets nobody promote to prod, approve or unlock', () => {
    for (const action of ['approve', 'unlock'] as const) {
      for (const environment of ['dev', 'prod'] as const) {
        expect(authorize(DEFAULT_ACCESS_POLICY, action, environment, jane).allowed).toBe(false);
      }
    }
    expect(authorize(DEFAULT_ACCESS_POLICY, 'promote', 'prod', jane).allowed).toBe(false);
  });

  it('is itself a valid policy', () => {
    expect(validateAccessPolicy(DEFAULT_ACCESS_POLICY)).toEqual([]);
  });
});

describe('authorizeApproval (four-eyes)', () => {
  it('lets an approver approve someone else’s promotion', () => {
    expect(authorizeApproval(policy, 'prod', jane, { requestedBy: 'U0BOB' })).toEqual({ allowed: true });
  });

  it('refuses an approver who requested the promotion', () => {
    const result = authorizeApproval(policy, 'prod', jane, { requestedBy: 'U0JANE' });
    expect(result).toMatchObject({ allowed: false, code: ErrorCode.SelfApproval });
    expect(!result.allowed && result.reason).toMatch(/you requested this promotion/);
  });

  it('refuses an approver who triggered the run', () => {
    const result = authorizeApproval(policy, 'prod', carol, {
      requestedBy: 'U0BOB',
      runTriggeredBy: 'U0CAROL',
    });
    expect(result).toMatchObject({ allowed: false, code: ErrorCode.SelfApproval });
  });

  it('refuses someone who is not an approver at all, as Forbidden', () => {
    expect(authorizeApproval(policy, 'prod', bob, { requestedBy: 'U0JANE' })).toMatchObject({
      allowed: false,
      code: ErrorCode.Forbidden,
    });
  });
});

describe('validateAccessPolicy', () => {
  it('accepts a well-formed policy', () => {
    expect(validateAccessPolicy(policy)).toEqual([]);
  });

  it('reports everyone on prod as a configuration error', () => {
    const open: AccessPolicy = {
      ...policy,
      unlock: { ...policy.unlock, prod: { users: [], groups: [], everyone: true } },
    };
    expect(validateAccessPolicy(open)).toEqual([
      { path: 'unlock.prod.everyone', message: expect.stringContaining('not allowed for prod') },
    ]);
  });

  it('reports ids that are not Slack ids, and missing entries', () => {
    const bad = {
      ...policy,
      approve: { dev: { users: ['jane'], groups: ['@platform'] } },
    } as unknown as AccessPolicy;
    expect(validateAccessPolicy(bad).map((problem) => problem.path)).toEqual([
      'approve.dev.users[0]',
      'approve.dev.groups[0]',
      'approve.prod',
    ]);
  });
});
