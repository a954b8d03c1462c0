// Details on demand: the "Show resources" and "Show all findings" buttons on a card (and on its alert), and
// the "More" buttons that page through the answer. A click carries only which card, and which page: the
// worker loads that card itself and answers the clicker ephemerally (src/worker/card-details.ts). The value
// is checked here, strictly; anything else in a click is never trusted.

/** "Show resources" (the plan line, the approval's risk line) and its "More" pages. */
export const PLAN_DETAILS_ACTION_ID = 'plan_details';
/** "Show all findings" (a failure's lead, the alert) and its "More" pages. */
export const FINDINGS_DETAILS_ACTION_ID = 'findings_details';

export type DetailsView = 'plan' | 'findings';

export const DETAILS_VIEWS: Readonly<Record<string, DetailsView>> = {
  [PLAN_DETAILS_ACTION_ID]: 'plan',
  [FINDINGS_DETAILS_ACTION_ID]: 'findings',
};

/** Far more pages than any plan or findings list fills (a page holds ~12,000 characters). */
export const MAX_DETAILS_PAGE = 50;

/** Card ids as card.ts makes them: `req-<16 hex>` or `promo-<16 hex>`. */
export const CARD_ID_PATTERN = /^(?:req|promo)-[0-9a-f]{16}$/;

export interface DetailsRequest {
  cardId: string;
  /** 1-based. */
  page: number;
}

/** The button value: the card id, then `:<page>` for pages after the first. */
export function detailsButtonValue(cardId: string, page = 1): string {
  return page > 1 ? `${cardId}:${page}` : cardId;
}

/** The card and page a button value names, or undefined when it is not one the bot rendered. */
export function parseDetailsValue(value: unknown): DetailsRequest | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const match = /^([a-z]+-[0-9a-f]+)(?::([1-9][0-9]{0,2}))?$/.exec(value);
  const cardId = match?.[1];
  if (!match || cardId === undefined || !CARD_ID_PATTERN.test(cardId)) return undefined;
  const page = match[2] === undefined ? 1 : Number(match[2]);
  return page <= MAX_DETAILS_PAGE ? { cardId, page } : undefined;
}
