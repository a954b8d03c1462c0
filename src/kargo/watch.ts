// A list-then-watch loop on one Kubernetes collection, the way client-go's reflector does it:
//
//   LIST (paginated)  → deliver RESYNC with every object, remember the list's resourceVersion
//   WATCH ?resourceVersion=<last seen>&allowWatchBookmarks=true&timeoutSeconds=<5–10 min>
//     ADDED/MODIFIED/DELETED → deliver; BOOKMARK → only advance the resourceVersion
//     the server ends the watch (timeoutSeconds, apiserver restart, LB idle timeout) → WATCH again from the
//       last resourceVersion seen: nothing is lost and nothing is re-listed
//     410 Gone / "too old resource version" (etcd compacted past our resourceVersion) → LIST again (RESYNC)
//     any other failure → bounded, jittered exponential backoff, then resume (or re-list if we never listed)
//
// Events are handed to the consumer one at a time, in order (an async handler is awaited before the next
// one); a handler that throws is logged and does not stop the watch.
import type { Watch } from '@kubernetes/client-node';
import { isGone, statusOf } from './errors.js';
import type { WatchEvent, WatchHandle } from './gateway.js';

export interface WatchLogger {
  debug?(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error?(obj: object, msg?: string): void;
}

export interface ListResult<Raw> {
  items: Raw[];
  resourceVersion: string;
}

export interface BackoffOptions {
  /** First delay (ms). Default 500. */
  initialMs?: number;
  /** Upper bound (ms). Default 30 000. */
  maxMs?: number;
}

export interface ListWatchOptions<Raw, T> {
  /** What is being watched, for logs. */
  name: string;
  watch: Pick<Watch, 'watch'>;
  /** Watch path, e.g. `/apis/kargo.akuity.io/v1alpha1/namespaces/p/promotions`. */
  path: string;
  /** Full (paginated) LIST; its resourceVersion is where the WATCH starts. */
  list: () => Promise<ListResult<Raw>>;
  map: (raw: Raw) => T;
  /** Client-side filter (e.g. spec.stage on Kargo ≤ 1.10, which has no stage label). */
  filter?: (raw: Raw) => boolean;
  labelSelector?: string;
  onEvent: (event: WatchEvent<T>) => void | Promise<void>;
  /** Start watching from here instead of listing first (e.g. a resourceVersion persisted before a restart). */
  resourceVersion?: string;
  /** Server-side watch timeout. Default: random in [300, 600) s, like client-go, so clients do not sync up. */
  timeoutSeconds?: number;
  backoff?: BackoffOptions;
  logger?: WatchLogger;
  /** Injectable for tests. */
  random?: () => number;
}

/** A watch the caller can stop; `done` settles once the loop has exited and queued handlers have run. */
export interface ListWatchHandle extends WatchHandle {
  readonly done: Promise<void>;
  /** The last resourceVersion seen (list, event or bookmark): persist it to resume after a restart. */
  readonly resourceVersion: string | undefined;
}

/**
 * Delay before retry number `attempt` (1-based): exponential from `initialMs`, capped at `maxMs`, with
 * "equal jitter" (half fixed, half random) so that many bots restarting together do not retry in lockstep.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const exp = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

type Outcome = 'closed' | 'gone';

interface RawObject {
  metadata?: { resourceVersion?: string };
}

export function startListWatch<Raw, T>(options: ListWatchOptions<Raw, T>): ListWatchHandle {
  const random = options.random ?? Math.random;
  const log = options.logger;
  let stopped = false;
  let resourceVersion = options.resourceVersion;
  let abort: AbortController | undefined;
  let wake: (() => void) | undefined;
  let sleepTimer: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();

  const deliver = (event: WatchEvent<T>): void => {
    queue = queue.then(async () => {
      if (stopped) return;
      try {
        await options.onEvent(event);
      } catch (err) {
        log?.warn({ err, watch: options.name, type: event.type }, 'kargo watch: event handler failed');
      }
    });
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      sleepTimer = setTimeout(resolve, ms);
    }).finally(() => {
      wake = undefined;
      sleepTimer = undefined;
    });

  const relist = async (): Promise<void> => {
    const { items, resourceVersion: listRv } = await options.list();
    if (stopped) return;
    const kept = options.filter ? items.filter(options.filter) : items;
    resourceVersion = listRv;
    deliver({ type: 'RESYNC', objects: kept.map(options.map) });
  };

  /** One WATCH request; resolves when the server (or we) end it. */
  const watchOnce = (fromRv: string): Promise<Outcome> =>
    new Promise<Outcome>((resolve, reject) => {
      let gone = false;
      let failure: Error | undefined;
      const timeoutSeconds = options.timeoutSeconds ?? Math.floor(300 + random() * 300);
      // Guard against a connection that silently stops delivering (no FIN, no data) or never connects: the
      // server must end the watch after timeoutSeconds; if it has not 30 s later, abort and start over.
      const watchdog = setTimeout(
        () => {
          if (abort) abort.abort();
          else finish(new Error(`watch request got no response within ${timeoutSeconds + 30} s`));
        },
        (timeoutSeconds + 30) * 1000,
      );
      let settled = false;
      const finish = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        if (stopped) resolve('closed');
        else if (gone || (err && isGone(err))) resolve('gone');
        else if (failure) reject(failure);
        else if (err && !(err instanceof Error && err.name === 'AbortError')) reject(err);
        else resolve('closed');
      };
      options.watch
        .watch(
          options.path,
          {
            resourceVersion: fromRv,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: options.labelSelector,
          },
          (type: string, obj: unknown) => {
            if (settled) return; // a late line from a watch we already gave up on
            if (type === 'ERROR') {
              // The server reports expiry as an ERROR event carrying a 410 Status, then closes the stream.
              if (isGone(obj)) gone = true;
              else {
                const status = statusOf(obj);
                failure = Object.assign(new Error(`watch error: ${status?.message ?? JSON.stringify(obj)}`), {
                  statusCode: status?.code,
                });
              }
              return;
            }
            const rv = (obj as RawObject | undefined)?.metadata?.resourceVersion;
            if (rv) resourceVersion = rv;
            if (type === 'BOOKMARK') return;
            if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
            if (options.filter && !options.filter(obj as Raw)) return;
            deliver({ type, object: options.map(obj as Raw) });
          },
          finish,
        )
        .then((controller) => {
          if (settled || stopped) controller.abort();
          else abort = controller;
        })
        .catch((err: unknown) => finish(err));
    });

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!stopped) {
      try {
        if (resourceVersion === undefined) {
          await relist();
          failures = 0;
          continue;
        }
        const startedAt = Date.now();
        const outcome = await watchOnce(resourceVersion);
        abort = undefined;
        if (stopped) break;
        if (outcome === 'gone') {
          log?.info?.(
            { watch: options.name, resourceVersion },
            'kargo watch: resourceVersion expired, re-listing',
          );
          resourceVersion = undefined;
          continue;
        }
        // A normal end of the watch: resume right away from the last resourceVersion. A watch that ended
        // almost immediately counts as a failure, so a server that keeps closing us is not hammered.
        if (Date.now() - startedAt < 1000) {
          failures++;
          await sleep(backoffDelay(failures, options.backoff, random));
        } else {
          failures = 0;
        }
      } catch (err) {
        abort = undefined;
        if (stopped) break;
        if (isGone(err)) {
          resourceVersion = undefined;
          continue;
        }
        failures++;
        const delay = backoffDelay(failures, options.backoff, random);
        log?.warn(
          { err, watch: options.name, attempt: failures, delayMs: delay },
          'kargo watch failed; retrying',
        );
        await sleep(delay);
      }
    }
  };

  const done = loop()
    .catch((err: unknown) => log?.error?.({ err, watch: options.name }, 'kargo watch loop crashed'))
    .then(() => queue);

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      abort?.abort();
      if (sleepTimer) clearTimeout(sleepTimer);
      wake?.();
    },
    done,
    get resourceVersion() {
      return resourceVersion;
    },
  };
}
