// Summarises a V8 CPU profile: self time per function and per module (src/ file, npm package, Node
// internals), and inclusive time of chosen frames (every sample that has the frame anywhere on its stack).
import type { CpuProfile } from './children.js';
import { repoRoot, round } from './util.js';

export interface FunctionTime {
  fn: string;
  where: string;
  ms: number;
  /** Share of the busy (non-idle) samples, %. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  idleMs: number;
  topSelf: FunctionTime[];
  byModule: FunctionTime[];
  /** Self time with native frames (socket writes, HMAC, GC…) charged to the nearest JavaScript caller's module. */
  byModuleCharged: FunctionTime[];
  /** Native and Node-internal leaf frames, and the application or package functions that led to them. */
  nativeCallers: Array<{ native: string; ms: number; callers: FunctionTime[] }>;
  /** Inclusive time of every function seen, keyed `fn @ where`. */
  inclusive: Map<string, number>;
}

/** `src/slack/commands.ts`, `node_modules/bullmq`, `node:internal/...`, or a V8 pseudo-frame. */
export function moduleOf(url: string): string {
  if (!url) return '(native / V8)';
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith('node:')) return u.startsWith('node:internal') ? 'node:internal' : u;
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + '/node_modules/'.length).split('/');
    return `npm:${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (u.startsWith(repoRoot)) u = u.slice(repoRoot.length + 1);
  // The compiled copy the benchmark runs (bench/lib/build.ts) stands for the source file.
  u = u.replace(/^\.cache\/bench\/build\//, '').replace(/^(src|bench)\/(.*)\.js$/, '$1/$2.ts');
  return u.split('?')[0] ?? u;
}

const where = (url: string, line: number): string => {
  const m = moduleOf(url);
  if (m.startsWith('npm:')) {
    const file =
      url
        .replace(/^file:\/\//, '')
        .split('/node_modules/')
        .pop() ?? url;
    return `${file}:${line + 1}`;
  }
  return url ? `${m}:${line + 1}` : m;
};

export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  const charged = new Map<string, number>();
  const nativeBy = new Map<string, Map<string, number>>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  const nameOf = (id: number): string => {
    const f = byId.get(id)?.callFrame;
    return f ? `${f.functionName || '(anonymous)'} @ ${where(f.url, f.lineNumber)}` : '?';
  };
  const keyCache = new Map<number, string>();
  const keyOf = (id: number): string => {
    let k = keyCache.get(id);
    if (k === undefined) {
      k = nameOf(id);
      keyCache.set(id, k);
    }
    return k;
  };
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time before sample i; the time a sample stands for is the next delta.
    const dt = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    if (frame.functionName === '(idle)') {
      idle += dt;
      return;
    }
    const key = keyOf(id);
    self.set(key, (self.get(key) ?? 0) + dt);
    // Native frames have no module: they stand under their own name (the charged view below places them).
    const mod = frame.url ? moduleOf(frame.url) : frame.functionName || '(anonymous native)';
    modules.set(mod, (modules.get(mod) ?? 0) + dt);
    // Native frames and Node's own JavaScript (stream writes, HMAC wrappers, timers) are charged to the first
    // frame of the application or a package above them: the code that asked for the work.
    let js: number | undefined = id;
    const isApp = (n: number): boolean => {
      const url = byId.get(n)?.callFrame.url ?? '';
      return url !== '' && !url.startsWith('node:');
    };
    while (js !== undefined && !isApp(js)) js = parent.get(js);
    const jsFrame = js === undefined ? undefined : byId.get(js)?.callFrame;
    const chargedTo = jsFrame ? moduleOf(jsFrame.url) : mod;
    charged.set(chargedTo, (charged.get(chargedTo) ?? 0) + dt);
    if (!isApp(id)) {
      const leaf = frame.url
        ? `${frame.functionName || '(anonymous)'} (${moduleOf(frame.url)})`
        : frame.functionName;
      const callers = nativeBy.get(leaf) ?? new Map<string, number>();
      const by = js === undefined ? '(no application frame: event loop, GC)' : keyOf(js);
      callers.set(by, (callers.get(by) ?? 0) + dt);
      nativeBy.set(leaf, callers);
    }
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = keyOf(cur);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  });
  const busy = total - idle;
  const toList = (m: Map<string, number>, split: boolean): FunctionTime[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, ms]) => {
        const [fn, at] = split ? (k.split(' @ ') as [string, string]) : [k, ''];
        return { fn, where: at ?? '', ms: round(ms, 1), share: round((100 * ms) / Math.max(1, busy), 1) };
      });
  return {
    totalMs: round(total, 1),
    busyMs: round(busy, 1),
    idleMs: round(idle, 1),
    topSelf: toList(self, true).slice(0, 30),
    byModule: toList(modules, false).slice(0, 20),
    byModuleCharged: toList(charged, false).slice(0, 20),
    nativeCallers: [...nativeBy.entries()]
      .map(([native, callers]) => ({
        native,
        ms: round(
          [...callers.values()].reduce((a, b) => a + b, 0),
          1,
        ),
        callers: toList(callers, true).slice(0, 4),
      }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 12),
    inclusive,
  };
}

/** Inclusive time of the functions whose `fn @ where` key matches `pattern` (the largest first). */
export function inclusiveOf(summary: ProfileSummary, pattern: RegExp): FunctionTime[] {
  return [...summary.inclusive.entries()]
    .filter(([k]) => pattern.test(k))
    .sort((a, b) => b[1] - a[1])
    .map(([k, ms]) => {
      const [fn, at] = k.split(' @ ') as [string, string];
      return {
        fn,
        where: at ?? '',
        ms: round(ms, 1),
        share: round((100 * ms) / Math.max(1, summary.busyMs), 1),
      };
    });
}
