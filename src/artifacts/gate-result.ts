// Pure converters from each tool's machine-readable output to a gate-result artifact.
// Used by the GitHub workflow (through src/cli/artifact.ts) and by `npm run gates`.
import type {
  Enforcement,
  Finding,
  FindingCounts,
  GateCloud,
  GateEnvironment,
  GateName,
  GateResult,
  GateStatus,
  RunRef,
  Severity,
} from './types.js';

export const MAX_TOP_FINDINGS = 20;

export type ToolFormat = 'trivy-json' | 'conftest-json' | 'opa-test-json' | 'tflint-json' | 'none';

export interface GateContext {
  gate: GateName;
  cloud: GateCloud;
  environment: GateEnvironment;
  enforcement: Enforcement;
  exitCode: number;
  startedAt?: string;
  finishedAt?: string;
  tool?: { name: string; version?: string };
  run?: RunRef;
}

export interface ParsedFindings {
  findings: Finding[];
  /** Something the tool reported about itself (e.g. OPA test errors) that is not a finding. */
  toolErrors: string[];
  summary?: string;
}

const severityRank: Record<Severity, number> = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3, UNKNOWN: 4 };

export function emptyCounts(): FindingCounts {
  return { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
}

export function countBySeverity(findings: readonly Finding[]): FindingCounts {
  const counts = emptyCounts();
  for (const f of findings) counts[f.severity.toLowerCase() as keyof FindingCounts] += 1;
  return counts;
}

export function normaliseSeverity(value: unknown): Severity {
  const upper = typeof value === 'string' ? value.toUpperCase() : '';
  return upper in severityRank ? (upper as Severity) : 'UNKNOWN';
}

/**
 * A gate's status follows the tool's exit code; findings only explain it. A soft gate that found something
 * is `soft-failed` (reported, not blocking). A tool whose output could not be read is `errored`.
 */
export function statusFor(
  exitCode: number,
  enforcement: Enforcement,
  toolErrors: readonly string[],
): GateStatus {
  if (toolErrors.length > 0 && exitCode !== 0) return 'errored';
  if (exitCode === 0) return 'passed';
  return enforcement === 'soft' ? 'soft-failed' : 'failed';
}

export function buildGateResult(ctx: GateContext, parsed: ParsedFindings): GateResult {
  const sorted = [...parsed.findings].sort((a, b) => severityRank[a.severity] - severityRank[b.severity]);
  const findings = countBySeverity(sorted);
  const status = statusFor(ctx.exitCode, ctx.enforcement, parsed.toolErrors);
  const result: GateResult = {
    schemaVersion: 1,
    gate: ctx.gate,
    cloud: ctx.cloud,
    environment: ctx.environment,
    status,
    enforcement: ctx.enforcement,
    summary: truncate(parsed.summary ?? summarise(status, findings, parsed.toolErrors), 500),
    findings,
    topFindings: sorted.slice(0, MAX_TOP_FINDINGS).map(clampFinding),
  };
  if (ctx.startedAt) result.startedAt = ctx.startedAt;
  if (ctx.finishedAt) result.finishedAt = ctx.finishedAt;
  if (ctx.startedAt && ctx.finishedAt) {
    result.durationSeconds = Math.max(0, (Date.parse(ctx.finishedAt) - Date.parse(ctx.startedAt)) / 1000);
  }
  if (ctx.tool) result.tool = ctx.tool;
  if (ctx.run) result.run = ctx.run;
  return result;
}

function summarise(status: GateStatus, counts: FindingCounts, toolErrors: readonly string[]): string {
  if (status === 'errored') return `tool error: ${toolErrors[0] ?? 'unknown'}`;
  const total = counts.critical + counts.high + counts.medium + counts.low + counts.unknown;
  if (total === 0) return status === 'passed' ? 'no findings' : 'failed (no findings reported)';
  const parts = (['critical', 'high', 'medium', 'low', 'unknown'] as const)
    .filter((k) => counts[k] > 0)
    .map((k) => `${counts[k]} ${k}`);
  return parts.join(', ');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function clampFinding(f: Finding): Finding {
  const out: Finding = { id: truncate(f.id, 100), severity: f.severity, message: truncate(f.message, 1000) };
  if (f.title) out.title = truncate(f.title, 300);
  if (f.resource) out.resource = truncate(f.resource, 300);
  if (f.location) out.location = truncate(f.location, 300);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Tool output parsers. Each accepts the tool's JSON text and never throws: unreadable output becomes a
// tool error, so a broken tool yields an `errored` gate instead of a crashed job.
// ---------------------------------------------------------------------------------------------------------

function parseJson(text: string, tool: string): { value?: unknown; error?: string } {
  if (text.trim() === '') return { error: `${tool} produced no output` };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (e) {
    return { error: `${tool} output is not JSON: ${(e as Error).message}` };
  }
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asRecord = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const asString = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** `trivy config --format json`: Results[].Misconfigurations[] with Status FAIL. */
export function parseTrivy(text: string): ParsedFindings {
  const { value, error } = parseJson(text, 'trivy');
  if (error) return { findings: [], toolErrors: [error] };
  const findings: Finding[] = [];
  for (const result of asArray(asRecord(value).Results)) {
    const r = asRecord(result);
    for (const m of asArray(r.Misconfigurations)) {
      const mis = asRecord(m);
      if (mis.Status !== undefined && mis.Status !== 'FAIL') continue;
      const cause = asRecord(mis.CauseMetadata);
      const line = typeof cause.StartLine === 'number' ? `:${cause.StartLine}` : '';
      const finding: Finding = {
        id: asString(mis.ID) ?? asString(mis.AVDID) ?? 'unknown',
        severity: normaliseSeverity(mis.Severity),
        message: asString(mis.Message) ?? asString(mis.Description) ?? '',
      };
      const title = asString(mis.Title);
      if (title) finding.title = title;
      const resource = asString(cause.Resource);
      if (resource) finding.resource = resource;
      const target = asString(r.Target);
      if (target) finding.location = `${target}${line}`;
      findings.push(finding);
    }
  }
  return { findings, toolErrors: [] };
}

/** `conftest test --output json`: failures are HIGH, warnings MEDIUM (warnings never fail a gate). */
export function parseConftest(text: string): ParsedFindings {
  const { value, error } = parseJson(text, 'conftest');
  if (error) return { findings: [], toolErrors: [error] };
  const findings: Finding[] = [];
  for (const file of asArray(value)) {
    const f = asRecord(file);
    const location = asString(f.filename);
    const collect = (items: unknown, severity: Severity): void => {
      for (const item of asArray(items)) {
        const i = asRecord(item);
        const meta = asRecord(i.metadata);
        const msg = asString(i.msg) ?? '';
        const finding: Finding = {
          id: asString(meta.rule) ?? asString(meta.id) ?? asString(f.namespace) ?? 'policy',
          severity,
          message: msg,
        };
        const resource = asString(meta.resource) ?? /^([a-z0-9_]+\.[A-Za-z0-9_\-[\]".]+):/.exec(msg)?.[1];
        if (resource) finding.resource = resource;
        if (location) finding.location = location;
        findings.push(finding);
      }
    };
    collect(f.failures, 'HIGH');
    collect(f.warnings, 'MEDIUM');
  }
  return { findings, toolErrors: [] };
}

/** `opa test --format json`: each failed or errored test is a HIGH finding. */
export function parseOpaTest(text: string): ParsedFindings {
  const { value, error } = parseJson(text, 'opa test');
  if (error) return { findings: [], toolErrors: [error] };
  const findings: Finding[] = [];
  let passed = 0;
  for (const t of asArray(value)) {
    const test = asRecord(t);
    const name = `${asString(test.package) ?? ''}.${asString(test.name) ?? ''}`.replace(/^data\./, '');
    if (test.fail === true || test.error !== undefined) {
      const loc = asRecord(test.location);
      const finding: Finding = {
        id: name,
        severity: 'HIGH',
        message: test.error !== undefined ? `error: ${JSON.stringify(test.error)}` : 'test failed',
      };
      const file = asString(loc.file);
      if (file) finding.location = `${file}:${String(loc.row ?? '')}`;
      findings.push(finding);
    } else if (test.skip !== true) {
      passed += 1;
    }
  }
  return {
    findings,
    toolErrors: [],
    summary: `${passed} passed, ${findings.length} failed`,
  };
}

/** `tflint --format json`: error → HIGH, warning → MEDIUM, notice → LOW; `errors[]` are tool errors. */
export function parseTflint(text: string): ParsedFindings {
  const { value, error } = parseJson(text, 'tflint');
  if (error) return { findings: [], toolErrors: [error] };
  const root = asRecord(value);
  const map: Record<string, Severity> = { error: 'HIGH', warning: 'MEDIUM', notice: 'LOW', info: 'LOW' };
  const findings = asArray(root.issues).map((raw): Finding => {
    const issue = asRecord(raw);
    const rule = asRecord(issue.rule);
    const range = asRecord(issue.range);
    const start = asRecord(range.start);
    const finding: Finding = {
      id: asString(rule.name) ?? 'tflint',
      severity: map[String(rule.severity).toLowerCase()] ?? 'UNKNOWN',
      message: asString(issue.message) ?? '',
    };
    const file = asString(range.filename);
    if (file) finding.location = `${file}:${String(start.line ?? '')}`;
    return finding;
  });
  const toolErrors = asArray(root.errors).map((e) => asString(asRecord(e).message) ?? 'tflint error');
  return { findings, toolErrors };
}

export function parseToolOutput(format: ToolFormat, text: string): ParsedFindings {
  switch (format) {
    case 'trivy-json':
      return parseTrivy(text);
    case 'conftest-json':
      return parseConftest(text);
    case 'opa-test-json':
      return parseOpaTest(text);
    case 'tflint-json':
      return parseTflint(text);
    case 'none':
      return { findings: [], toolErrors: [] };
  }
}
