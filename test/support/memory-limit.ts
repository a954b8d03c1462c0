// Runs a child process under a hard memory limit, the way a pod's `resources.limits.memory` does: a
// memory cgroup (v2, or v1 as on this CI machine) created under the test's own cgroup. When no cgroup can
// be written (unprivileged, read-only cgroupfs), the caller falls back to V8's heap limit and says so:
// that bounds the JavaScript heap but not buffers, so it proves less.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface MemoryLimit {
  kind: 'cgroup-v2' | 'cgroup-v1';
  /** The cgroup's process list: a process that writes its own pid here is limited from then on. */
  procsPath: string;
  /** Peak memory use the cgroup recorded (bytes), when it records one. */
  peakBytes(): number | undefined;
  /** Number of times the limit was hit (OOM kills in v2, failcnt in v1). */
  oomEvents(): number;
  remove(): void;
}

export function createMemoryLimit(name: string, bytes: number): MemoryLimit | undefined {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  const v1 = lines
    .map((l) => l.split(':'))
    .find(([, controllers]) => controllers?.split(',').includes('memory'));
  const attempt = (create: () => MemoryLimit): MemoryLimit | undefined => {
    try {
      return create();
    } catch {
      return undefined;
    }
  };
  if (v1 && existsSync('/sys/fs/cgroup/memory')) {
    return attempt(() => {
      const dir = path.join('/sys/fs/cgroup/memory', v1[2] ?? '/', name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(bytes));
      return {
        kind: 'cgroup-v1',
        procsPath: path.join(dir, 'cgroup.procs'),
        peakBytes: () => Number(readFileSync(path.join(dir, 'memory.max_usage_in_bytes'), 'utf8')),
        oomEvents: () => {
          const control = readFileSync(path.join(dir, 'memory.oom_control'), 'utf8');
          return Number(/oom_kill (\d+)/.exec(control)?.[1] ?? 0);
        },
        remove: () => rmdirSync(dir),
      };
    });
  }
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (v2 && existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    return attempt(() => {
      const dir = path.join('/sys/fs/cgroup', v2.slice(3), name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'memory.max'), String(bytes));
      writeFileSync(path.join(dir, 'memory.swap.max'), '0');
      return {
        kind: 'cgroup-v2',
        procsPath: path.join(dir, 'cgroup.procs'),
        peakBytes: () =>
          existsSync(path.join(dir, 'memory.peak'))
            ? Number(readFileSync(path.join(dir, 'memory.peak'), 'utf8'))
            : undefined,
        oomEvents: () =>
          Number(/oom_kill (\d+)/.exec(readFileSync(path.join(dir, 'memory.events'), 'utf8'))?.[1] ?? 0),
        remove: () => rmdirSync(dir),
      };
    });
  }
  return undefined;
}
