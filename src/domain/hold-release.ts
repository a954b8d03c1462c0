// "Release hold": Kargo 1.11 holds auto-promotion of a stage after someone promoted older freight into it
// by hand, and lifts the hold when the stage's newest candidate is promoted. The button beside a hold (in
// /status, the Home tab and /freight) is exactly `/promote <environment> <candidate>` typed by whoever
// clicks it: the same access rules, freeze, four-eyes, gates, approval and audit (src/slack/app.ts routes
// the click through the slash-command handler). Nothing in the click is trusted beyond "which
// environment, which freight", and both are checked again as a typed command would be.
import type { ButtonElement } from './blockkit.js';
import { ENVIRONMENTS, type Environment } from './types.js';

export const RELEASE_HOLD_ACTION_ID = 'release_hold';

export interface HoldRelease {
  environment: Environment;
  /** The freight to promote, as /promote takes it (alias or name). */
  freight: string;
}

/** A freight word as /promote accepts it: an alias (DNS label) or a Freight name. */
const FREIGHT_WORD = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;

export function releaseHoldButton(release: HoldRelease): ButtonElement {
  return {
    type: 'button',
    action_id: RELEASE_HOLD_ACTION_ID,
    text: { type: 'plain_text', text: 'Release hold', emoji: true },
    value: `${release.environment} ${release.freight}`,
    confirm: {
      title: { type: 'plain_text', text: 'Release the hold?' },
      text: {
        type: 'plain_text',
        text: `This promotes ${release.freight} to ${release.environment} as "/promote ${release.environment} ${release.freight}" would, with its gates${
          release.environment === 'prod' ? ' and approval' : ''
        }. Kargo resumes auto-promotion once it succeeds.`,
      },
      confirm: { type: 'plain_text', text: 'Promote' },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
}

/** The button's value back, or undefined when it is not one this bot made. */
export function parseReleaseHoldValue(value: string | undefined): HoldRelease | undefined {
  const [environment, freight, ...rest] = (value ?? '').split(' ');
  if (rest.length > 0 || !freight || !FREIGHT_WORD.test(freight)) return undefined;
  if (!ENVIRONMENTS.includes(environment as Environment)) return undefined;
  return { environment: environment as Environment, freight };
}

/** The `/promote` text the click stands for. */
export const releaseHoldCommandText = (release: HoldRelease): string =>
  `${release.environment} ${release.freight}`;
