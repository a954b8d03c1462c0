// The list/watch loop's control flow, driven by a scripted stand-in for client-node's Watch (the HTTP
// boundary). The same behaviour is exercised against a real kube-apiserver in client.test.ts; this file
// pins down the branches that are slow or awkward to provoke there (errors, backoff, stop while sleeping).
import { describe, it, expect } from '@jest/globals';
import type { WatchEvent } from '../../src/kargo/gateway.js';
import { backoffDelay, startListWatch, type ListResult } from '../../src/kargo/watch.js';

interface Obj {
  metadata: { name: string; resourceVersion: string };
}
const obj = (name: string, rv: string): Obj => ({ metadata: { name, resourceVersion: rv } });

type Step = { events: Array<[string, unknown]>; end?: unknown } | { httpError: number } | { hang: true };

/** A Watch whose successive watch() calls play the given steps; records the query of each call. */
function scriptedWatch(steps: Step[]) {
  const calls: Array<Record<string, unknown>> = [];
  const watch = {
    async watch(
      _path: string,
      query: Record<string, unknown>,
      callback: (phase: string, obj: unknown) => void,
      done: (err: unknown) => void,
    ): Promise<AbortController> {
      calls.push(query);
      const controller = new AbortController();
      const step = steps.shift() ?? { hang: true };
      if ('httpError' in step) {
        done(Object.assign(new Error('HTTP error'), { statusCode: step.httpError }));
        return controller;
      }
      if ('hang' in step) {
        controller.signal.addEventListener('abort', () =>
          done(Object.assign(new Error('aborted'), { name: 'AbortError' })),
        );
        return controller;
      }
      setTimeout(() => {
        for (const [type, o] of step.events) callback(type, o);
        done(step.end ?? null);
      }, 5);
      return controller;
    },
  };
  return { watch, calls };
}

function collector() {
  const events: Array<WatchEvent<string>> = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  return {
    events,
    onEvent(e: WatchEvent<string>) {
      events.push(e);
      for (const w of waiters) if (events.length >= w.n) w.resolve();
    },
    until(n: number) {
      return new Promise<void>((resolve) => {
        if (events.length >= n) resolve();
        else waiters.push({ n, resolve });
      });
    },
  };
}

const describeEvent = (e: WatchEvent<string>) =>
  e.type === 'RESYNC' ? `RESYNC[${e.objects.join(',')}]` : `${e.type}:${e.object}`;

describe('startListWatch', () => {
  it('lists (RESYNC), watches from the list RV, resumes from the last RV seen (bookmarks too), re-lists on 410', async () => {
    const lists: Array<ListResult<Obj>> = [
      { items: [obj('a', '10')], resourceVersion: '10' },
      { items: [obj('a', '10'), obj('b', '31')], resourceVersion: '40' },
    ];
    const { watch, calls } = scriptedWatch([
      // 1st watch: an event, a bookmark, then the server closes normally.
      {
        events: [
          ['ADDED', obj('b', '11')],
          ['BOOKMARK', { metadata: { resourceVersion: '20' } }],
        ],
      },
      // 2nd watch (resumed at 20): expired → ERROR 410 then close.
      {
        events: [
          [
            'ERROR',
            { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 20 (35)' },
          ],
        ],
      },
      // 3rd watch after the re-list (at 40): one modification.
      { events: [['MODIFIED', obj('b', '41')]] },
    ]);
    const c = collector();
    const handle = startListWatch<Obj, string>({
      name: 'test',
      watch,
      path: '/x',
      list: async () => lists.shift()!,
      map: (o) => o.metadata.name,
      onEvent: (e) => c.onEvent(e),
      timeoutSeconds: 60,
      backoff: { initialMs: 1, maxMs: 2 },
    });
    await c.until(4);
    while (calls.length < 4) await new Promise((r) => setTimeout(r, 5)); // the 4th watch resumes at 41
    handle.stop();
    await handle.done;
    expect(c.events.map(describeEvent)).toEqual(['RESYNC[a]', 'ADDED:b', 'RESYNC[a,b]', 'MODIFIED:b']);
    expect(calls.map((q) => q.resourceVersion)).toEqual(['10', '20', '40', '41']);
    expect(calls.every((q) => q.allowWatchBookmarks === true && q.timeoutSeconds === 60)).toBe(true);
  });

  it('treats an HTTP 410 on the watch request itself like an expired ERROR event', async () => {
    const { watch } = scriptedWatch([{ httpError: 410 }]);
    const c = collector();
    let listed = 0;
    const handle = startListWatch<Obj, string>({
      name: 'test',
      watch,
      path: '/x',
      resourceVersion: '1',
      list: async () => {
        listed++;
        return { items: [obj('a', '5')], resourceVersion: '5' };
      },
      map: (o) => o.metadata.name,
      onEvent: (e) => c.onEvent(e),
    });
    await c.until(1);
    handle.stop();
    await handle.done;
    expect(listed).toBe(1);
    expect(c.events.map(describeEvent)).toEqual(['RESYNC[a]']);
  });

  it('backs off and retries after errors (list failures and watch failures), then recovers', async () => {
    const { watch, calls } = scriptedWatch([{ httpError: 500 }, { events: [['ADDED', obj('z', '3')]] }]);
    const c = collector();
    let attempts = 0;
    const warnings: string[] = [];
    const handle = startListWatch<Obj, string>({
      name: 'test',
      watch,
      path: '/x',
      list: async () => {
        if (++attempts < 3) throw Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return { items: [], resourceVersion: '2' };
      },
      map: (o) => o.metadata.name,
      onEvent: (e) => c.onEvent(e),
      backoff: { initialMs: 1, maxMs: 4 },
      logger: { warn: (_o, msg) => warnings.push(msg ?? '') },
    });
    await c.until(2);
    handle.stop();
    await handle.done;
    expect(attempts).toBe(3);
    expect(c.events.map(describeEvent)).toEqual(['RESYNC[]', 'ADDED:z']);
    expect(calls.map((q) => q.resourceVersion)).toEqual(['2', '2']);
    expect(warnings).toHaveLength(3);
  });

  it('filters client-side, keeps going when a handler throws, and delivers in order to async handlers', async () => {
    const { watch } = scriptedWatch([
      {
        events: [
          ['ADDED', obj('keep-1', '2')],
          ['ADDED', obj('drop', '3')],
          ['ADDED', obj('keep-2', '4')],
        ],
      },
    ]);
    const seen: string[] = [];
    let resolveDone!: () => void;
    const finished = new Promise<void>((r) => (resolveDone = r));
    const handle = startListWatch<Obj, string>({
      name: 'test',
      watch,
      path: '/x',
      list: async () => ({ items: [obj('drop', '1'), obj('keep-0', '1')], resourceVersion: '1' }),
      map: (o) => o.metadata.name,
      filter: (o) => o.metadata.name.startsWith('keep'),
      onEvent: async (e) => {
        await new Promise((r) => setTimeout(r, 5));
        seen.push(describeEvent(e));
        if (e.type === 'ADDED' && e.object === 'keep-1') throw new Error('handler bug');
        if (seen.length === 3) resolveDone();
      },
      logger: { warn: () => {} },
    });
    await finished;
    handle.stop();
    await handle.done;
    expect(seen).toEqual(['RESYNC[keep-0]', 'ADDED:keep-1', 'ADDED:keep-2']);
  });

  it('stop() ends a hanging watch and a pending backoff promptly', async () => {
    const { watch } = scriptedWatch([{ hang: true }]);
    const c = collector();
    const handle = startListWatch<Obj, string>({
      name: 'test',
      watch,
      path: '/x',
      list: async () => ({ items: [], resourceVersion: '1' }),
      map: (o) => o.metadata.name,
      onEvent: (e) => c.onEvent(e),
    });
    await c.until(1);
    await new Promise((r) => setTimeout(r, 20));
    handle.stop();
    await handle.done;
    expect(handle.resourceVersion).toBe('1');

    const failing = startListWatch<Obj, string>({
      name: 'test',
      watch,
      path: '/x',
      list: async () => {
        throw new Error('down');
      },
      map: (o) => o.metadata.name,
      onEvent: () => {},
      backoff: { initialMs: 60_000, maxMs: 60_000 },
      logger: { warn: () => {} },
    });
    await new Promise((r) => setTimeout(r, 20));
    failing.stop();
    await failing.done; // would take a minute if stop() did not cut the sleep short
  });
});

describe('backoffDelay', () => {
  it('grows exponentially, is capped, and is jittered within [exp/2, exp]', () => {
    const opts = { initialMs: 100, maxMs: 1000 };
    expect(backoffDelay(1, opts, () => 0)).toBe(50);
    expect(backoffDelay(1, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(400);
    expect(backoffDelay(10, opts, () => 1)).toBe(1000);
    expect(backoffDelay(10, opts, () => 0)).toBe(500);
    for (let i = 1; i < 50; i++) {
      const d = backoffDelay(i, opts);
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
});
