// Bolt's receiver in HTTP mode: it takes requests the edge (src/web/edge.ts) has already read within its
// bounds, verified (signature, ±5 min) and parsed while checking their shape (src/web/slack-payload.ts), and
// hands the parsed body to the app. Bolt's own HTTPReceiver would read the body again, parse it a second time
// and route the URL once more; this one does none of that (the profile in bench/results/ack-profile.md).
// It answers what Bolt's HTTPReceiver answers: Slack's ssl_check and url_verification, the listener's ack()
// as the response (JSON for objects), 500 when processing fails before an ack (an error the app's error
// handler rethrows), 404 when nothing acked — once the listeners are done, not after Bolt's 3 s timer.
import type { ServerResponse } from 'node:http';
import { ReceiverMultipleAckError, type App, type Receiver, type ReceiverEvent } from '@slack/bolt';
import type { Logger } from 'pino';

/** A request the edge verified and parsed: what Slack sent, as Bolt expects it. */
export interface SlackDelivery {
  /** The parsed body: form fields of a slash command, the `payload` JSON of an interaction, an event. */
  body: Record<string, unknown>;
  /** X-Slack-Retry-Num / X-Slack-Retry-Reason (Events API redeliveries). */
  retryNum?: number;
  retryReason?: string;
}

/** Slack gives up after 3 s; one millisecond later an un-acked request is answered (as Bolt does). */
const NO_ACK_TIMEOUT_MS = 3001;

function writeBody(res: ServerResponse, body: unknown): void {
  if (res.headersSent) return;
  if (!body) res.writeHead(200).end();
  else if (typeof body === 'string') res.writeHead(200).end(body);
  else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export class EdgeReceiver implements Receiver {
  private app: App | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly noAckTimeoutMs = NO_ACK_TIMEOUT_MS,
  ) {}

  init(app: App): void {
    this.app = app;
  }

  // The edge listens; the receiver has nothing to start or stop.
  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  /** Hands one verified, parsed request to the app; the listener's ack() writes the answer. */
  dispatch(delivery: SlackDelivery, res: ServerResponse): void {
    const { body } = delivery;
    if (body.ssl_check === '1') return void res.writeHead(200).end();
    if (body.type === 'url_verification') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ challenge: body.challenge }));
    }
    const app = this.app;
    if (!app) {
      this.logger.error('slack request before the app was initialised');
      return void res.writeHead(503).end();
    }
    let acked = false;
    const timer = setTimeout(() => {
      if (acked) return;
      this.logger.error('a Slack request was not acknowledged within 3 s');
      if (!res.headersSent) res.writeHead(404).end();
    }, this.noAckTimeoutMs);
    timer.unref();
    const event: ReceiverEvent = {
      body,
      ack: async (response?: unknown) => {
        if (acked) throw new ReceiverMultipleAckError();
        acked = true;
        clearTimeout(timer);
        writeBody(res, response);
      },
      ...(delivery.retryNum !== undefined ? { retryNum: delivery.retryNum } : {}),
      ...(delivery.retryReason !== undefined ? { retryReason: delivery.retryReason } : {}),
    };
    app.processEvent(event).then(
      () => {
        if (acked) return;
        // Every listener has returned and none acknowledged: nothing will (Bolt would wait out its timer).
        clearTimeout(timer);
        acked = true;
        this.logger.warn({ type: body.type ?? body.command }, 'no listener acknowledged a Slack request');
        if (!res.headersSent) res.writeHead(404).end();
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (res.headersSent) {
          this.logger.error({ err }, 'a Slack listener failed after acknowledging');
          return;
        }
        acked = true;
        this.logger.error({ err }, 'a Slack request failed before it was acknowledged');
        res.writeHead(500).end();
      },
    );
  }
}
