// What every benchmark section gets and gives back.
import type { BenchKube } from './kube.js';
import type { BenchRedis } from './redis.js';

export interface BenchContext {
  redis: BenchRedis;
  /** `--quick`: shorter runs, smaller sizes; the same measurements. */
  quick: boolean;
  /** The shared kube-apiserver with Kargo's CRDs, started on first use. */
  kube(): Promise<BenchKube>;
  /** Stops and removes what a section started if the benchmark is interrupted. */
  onInterrupt(cleanup: () => Promise<void>): () => void;
  options: { cardWaitSeconds?: number; ackSeconds?: number };
}

export interface HeadlineRow {
  /** Section letter of issue 13 §5 (a–f) or a name. */
  section: string;
  what: string;
  figure: string;
}

export interface SectionOutput {
  headline: HeadlineRow[];
  /** Detailed tables and notes, markdown. */
  markdown: string;
  data: unknown;
}

export type Section = (ctx: BenchContext) => Promise<SectionOutput>;

export const table = (head: string[], rows: Array<Array<string | number>>): string =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
