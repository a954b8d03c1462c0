// Who may promote, approve and unlock, per environment. Pure policy evaluation: the Slack adapter resolves
// the actor's user-group ids, config.ts parses the policy, and both call in here.
//
// Rules (DESIGN.md, "Security rules"):
//   - allowed when the user id is listed, or one of the actor's user groups is, or `everyone` is set;
//   - prod is default deny: `everyone` never applies to prod (and validateAccessPolicy flags it);
//   - four-eyes: whoever requested a promotion (or triggered its run) cannot approve it.
import { ErrorCode } from './errors.js';
import { ENVIRONMENTS } from './types.js';
import type { Actor, Environment } from './types.js';

export type AccessAction = 'promote' | 'approve' | 'unlock';
export const ACCESS_ACTIONS: readonly AccessAction[] = ['promote', 'approve', 'unlock'];

export interface Principals {
  /** Slack user ids (`U…`, `W…` on Enterprise Grid). */
  users: string[];
  /** Slack user-group ids (`S…`). */
  groups: string[];
  /** Anyone in the workspace. Ignored for prod, and reported by validateAccessPolicy. */
  everyone?: boolean;
}

export type AccessPolicy = Record<AccessAction, Record<Environment, Principals>>;

export type Authorization =
  | { allowed: true }
  | { allowed: false; code: typeof ErrorCode.Forbidden | typeof ErrorCode.SelfApproval; reason: string };

/** Environments where `everyone` is never honoured. */
export const DEFAULT_DENY_ENVIRONMENTS: readonly Environment[] = ['prod'];

const nobody = (): Principals => ({ users: [], groups: [] });

/** Safe starting point: anyone may promote to dev; nobody may do anything else until configured. */
export const DEFAULT_ACCESS_POLICY: AccessPolicy = {
  promote: { dev: { users: [], groups: [], everyone: true }, prod: nobody() },
  approve: { dev: nobody(), prod: nobody() },
  unlock: { dev: nobody(), prod: nobody() },
};

const VERB: Readonly<Record<AccessAction, string>> = {
  promote: 'promote to',
  approve: 'approve promotions to',
  unlock: 'unlock the Terraform state of',
};

export function authorize(
  policy: AccessPolicy,
  action: AccessAction,
  environment: Environment,
  actor: Actor,
): Authorization {
  // A policy parsed from YAML may lack an entry; a missing entry means nobody.
  const principals: Principals | undefined = policy[action]?.[environment];
  if (principals && isListed(principals, actor)) return { allowed: true };
  const everyoneIgnored = principals?.everyone === true && DEFAULT_DENY_ENVIRONMENTS.includes(environment);
  if (principals?.everyone && !everyoneIgnored) return { allowed: true };
  const reason = everyoneIgnored
    ? `You are not allowed to ${VERB[action]} ${environment}: "everyone" does not apply to ${environment}, ` +
      `only users and user groups listed by name do. Ask a platform admin to add you.`
    : `You are not allowed to ${VERB[action]} ${environment}. Ask a platform admin to add you ` +
      `(or one of your user groups) to "${action}.${environment}".`;
  return { allowed: false, code: ErrorCode.Forbidden, reason };
}

export interface ApprovalSubject {
  /** Slack user id of whoever requested the promotion. */
  requestedBy: string;
  /** Slack user id of whoever triggered the run being approved, when it maps to a Slack user. */
  runTriggeredBy?: string;
}

/**
 * authorize('approve', …) plus four-eyes. Four-eyes applies in every environment, not only prod:
 * approving one's own change is never the point of an approval.
 */
export function authorizeApproval(
  policy: AccessPolicy,
  environment: Environment,
  actor: Actor,
  subject: ApprovalSubject,
): Authorization {
  const authorization = authorize(policy, 'approve', environment, actor);
  if (!authorization.allowed) return authorization;
  if (actor.slackUserId === subject.requestedBy) {
    return selfApproval('you requested this promotion');
  }
  if (subject.runTriggeredBy !== undefined && actor.slackUserId === subject.runTriggeredBy) {
    return selfApproval('you triggered this run');
  }
  return { allowed: true };
}

const selfApproval = (why: string): Authorization => ({
  allowed: false,
  code: ErrorCode.SelfApproval,
  reason: `You cannot approve this: ${why}, and a second person has to approve it (four-eyes).`,
});

/**
 * Who may stop a promotion (/cancel, Withdraw): the person who requested it, or an approver of its
 * environment. A promotion nobody requested in Slack (Kargo's auto-promotion, the UI) only by an approver.
 */
export function authorizeCancel(
  policy: AccessPolicy,
  environment: Environment,
  actor: Actor,
  requestedBy: string | undefined,
): Authorization {
  if (requestedBy !== undefined && actor.slackUserId === requestedBy) return { allowed: true };
  if (authorize(policy, 'approve', environment, actor).allowed) return { allowed: true };
  return {
    allowed: false,
    code: ErrorCode.Forbidden,
    reason: `Only whoever requested this promotion, or an approver of ${environment}, can stop it.`,
  };
}

/**
 * Four-eyes needs a second person: the people who could approve a prod request by `requester` (listed
 * users plus members of listed groups, minus the requester). Empty means the request could never be
 * approved, so it must not be made.
 */
export function otherApprovers(
  principals: Principals,
  groupMembers: ReadonlyMap<string, readonly string[]>,
  requester: string,
): string[] {
  const people = new Set(principals.users);
  for (const group of principals.groups)
    for (const member of groupMembers.get(group) ?? []) people.add(member);
  people.delete(requester);
  return [...people].sort();
}

function isListed(principals: Principals, actor: Actor): boolean {
  if (principals.users?.includes(actor.slackUserId)) return true;
  return (actor.groupIds ?? []).some((group) => principals.groups?.includes(group));
}

// ---------------------------------------------------------------------------------------------------
// Validation (for config.ts: report every problem at boot, not at the first denied command)

export interface AccessPolicyProblem {
  /** `promote.prod.everyone` */
  path: string;
  message: string;
}

const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const GROUP_ID = /^S[A-Z0-9]{2,}$/;

export function validateAccessPolicy(policy: AccessPolicy): AccessPolicyProblem[] {
  const problems: AccessPolicyProblem[] = [];
  for (const action of ACCESS_ACTIONS) {
    for (const environment of ENVIRONMENTS) {
      const path = `${action}.${environment}`;
      const principals: Principals | undefined = policy[action]?.[environment];
      if (!principals) {
        problems.push({ path, message: `missing: nobody may ${VERB[action]} ${environment}` });
        continue;
      }
      problems.push(...principalProblems(principals, path, environment));
    }
  }
  return problems;
}

function principalProblems(
  principals: Principals,
  path: string,
  environment: Environment,
): AccessPolicyProblem[] {
  const problems: AccessPolicyProblem[] = [];
  if (principals.everyone && DEFAULT_DENY_ENVIRONMENTS.includes(environment)) {
    problems.push({
      path: `${path}.everyone`,
      message: `"everyone: true" is not allowed for ${environment} (default deny); list users or user groups`,
    });
  }
  (principals.users ?? []).forEach((user, index) => {
    if (!USER_ID.test(user)) {
      problems.push({
        path: `${path}.users[${index}]`,
        message: `"${user}" is not a Slack user id (U… or W…)`,
      });
    }
  });
  (principals.groups ?? []).forEach((group, index) => {
    if (!GROUP_ID.test(group)) {
      problems.push({
        path: `${path}.groups[${index}]`,
        message: `"${group}" is not a Slack user-group id (S…)`,
      });
    }
  });
  return problems;
}
