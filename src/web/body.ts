// Reading a request body before anyone has proved who sent it. Three bounds keep an unauthenticated
// sender from costing the web process more than a fixed amount of memory and time:
//   - a per-route size limit, checked against Content-Length before a byte is read and again while
//     streaming (chunked bodies have no length): over it, the read stops at once and the rest is never
//     buffered;
//   - a time limit for the whole body (a sender that trickles bytes does not hold a slot for minutes);
//   - a bound on how many such bodies are read at the same time (BodySlots): the memory they can hold is
//     at most slots × limit, whatever the number of connections.
import type { IncomingMessage } from 'node:http';

export type BodyRefusal = 'body too large' | 'body read timed out' | 'connection closed mid-body';

export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: BodyRefusal };

export interface BodyLimits {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Longest time to receive the whole body, in ms. */
  timeoutMs: number;
}

/** Content-Length, when the sender declared one; NaN when it is absent or not a number. */
export function declaredLength(req: IncomingMessage): number {
  const raw = req.headers['content-length'];
  return raw === undefined ? Number.NaN : Number(raw);
}

/** Reads the body within the limits. Never rejects; on refusal, stops reading (the caller answers). */
export function readBoundedBody(req: IncomingMessage, limits: BodyLimits): Promise<BodyResult> {
  if (declaredLength(req) > limits.maxBytes) {
    return Promise.resolve({ ok: false, reason: 'body too large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (!result.ok) {
        // Drop what was buffered and read nothing more: pause the stream; the caller answers and closes.
        chunks.length = 0;
        req.pause();
      }
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limits.maxBytes) finish({ ok: false, reason: 'body too large' });
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish({ ok: true, body: Buffer.concat(chunks, size) });
    const onError = (): void => finish({ ok: false, reason: 'connection closed mid-body' });
    const onClose = (): void => {
      if (!req.complete) finish({ ok: false, reason: 'connection closed mid-body' });
    };
    const timer = setTimeout(() => finish({ ok: false, reason: 'body read timed out' }), limits.timeoutMs);
    timer.unref();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * A counting semaphore without a waiting line: a request that finds every slot taken is refused at once
 * (the caller answers 503 with Retry-After), because queueing unauthenticated bodies would only move the
 * memory from the socket buffers into a list.
 */
export class BodySlots {
  private inUse = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error('BodySlots: capacity must be ≥ 1');
  }

  tryAcquire(): boolean {
    if (this.inUse >= this.capacity) return false;
    this.inUse += 1;
    return true;
  }

  release(): void {
    if (this.inUse > 0) this.inUse -= 1;
  }

  get busy(): number {
    return this.inUse;
  }
}
