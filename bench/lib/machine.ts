// What the figures were measured on: machine, Node, date, commit (and whether the tree was clean).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { repoRoot } from './util.js';

export interface MachineInfo {
  date: string;
  node: string;
  platform: string;
  kernel: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  loadAverageAtStart: number[];
  gitCommit: string;
  /** Paths changed in the working tree when the run started (others edit it at the same time). */
  gitDirty: string[];
  redis: string;
}

// trimEnd, not trim: `git status --porcelain` lines begin with a significant space (" M path").
const git = (...args: string[]): string => {
  try {
    return execFileSync('git', args, {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trimEnd();
  } catch {
    return '';
  }
};

export function machineInfo(redis: string): MachineInfo {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    loadAverageAtStart: os.loadavg().map((n) => Math.round(n * 100) / 100),
    gitCommit: git('rev-parse', 'HEAD').trim() || 'unknown',
    gitDirty: git('status', '--porcelain')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3)),
    redis,
  };
}
