// The audit record: one line of #infra-audit, and one entry of the durable Redis stream it is mirrored
// from. Every command (accepted or denied) and every outcome becomes one. Records never hold secrets.
import type { Environment } from './types.js';

export type AuditOutcome = 'accepted' | 'denied' | 'rejected' | 'succeeded' | 'failed' | 'info';

export interface AuditRecord {
  /** Idempotency key: the stream and the Slack mirror never hold two records with the same id. */
  id: string;
  at: string;
  /** Who: `slack:U123`, `kargo:<actor>`, `github:<login>`, or `system`. */
  actor: string;
  /** What: `promote`, `freight`, `approve`, `unlock`, `promotion.phase`, `auth.signature` ... */
  action: string;
  environment?: Environment;
  /** The object acted on: promotion name, freight alias, lock id. */
  target?: string;
  outcome: AuditOutcome;
  /** One human sentence. */
  detail: string;
  /** Where: the Slack channel the command came from, when there is one. */
  channelId?: string;
  cardId?: string;
  /** Machine-readable facts the delivery metrics read (src/domain/dora.ts); only on the records below. */
  facts?: AuditFacts;
}

/**
 * `promotion.phase`: the Promotion's phase. `freight.resolved`: the freight and when its commit entered the
 * pipeline — the Freight's creation by Kargo's Warehouse (Kargo records no commit timestamp; the Warehouse
 * makes the Freight within its discovery interval of the push). `promotion.created`: the freight.
 */
export interface AuditFacts {
  phase?: string;
  freight?: string;
  commit?: string;
  commitAt?: string;
}
