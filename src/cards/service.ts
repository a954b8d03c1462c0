// The one path every fact takes: append to the audit stream, append to the card's log, then let Slack
// know. The order is the reliability rule "an event is appended before its effects are
// reported": if the process dies after the append, a replay reports it; nothing is reported that was
// not first recorded.
import { auditRecordFor } from '../domain/audit-records.js';
import type { AuditRecord } from '../domain/audit.js';
import type { Card } from '../domain/card.js';
import type { CardEvent } from '../domain/events.js';
import type { CardStore } from './store.js';

export interface AuditSink {
  append(record: AuditRecord): Promise<unknown>;
}

/** Shows a card in Slack: posts it the first time, updates it (coalesced) afterwards. */
export interface CardPublisher {
  publishCard(cardId: string): Promise<void>;
}

export class CardService {
  constructor(
    private readonly store: CardStore,
    private readonly audit: AuditSink,
    private readonly publisher: CardPublisher,
  ) {}

  /**
   * Records the event and returns the card after it, and whether the event was new to the card. Both
   * appends are idempotent on the event id, and a duplicate still re-runs them and the (coalesced)
   * publish: a worker that died between two steps finishes the job on retry instead of losing the
   * audit entry or the Slack update.
   */
  async record(event: CardEvent): Promise<{ card: Card | undefined; isNew: boolean }> {
    await this.audit.append(auditRecordFor(event));
    const isNew = await this.store.append(event);
    await this.publisher.publishCard(event.cardId);
    return { card: await this.store.load(event.cardId), isNew };
  }

  async recordAll(events: readonly CardEvent[]): Promise<Card | undefined> {
    let card: Card | undefined;
    for (const event of events) card = (await this.record(event)).card;
    return card;
  }

  load(cardId: string): Promise<Card | undefined> {
    return this.store.load(cardId);
  }
}
