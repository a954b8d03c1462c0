// A gate finding in words an engineer acts on: what is wrong, on which resource, and what to do about it.
//
// The tools say it differently:
//   - this repository's OPA policies (policy/*.rego, via Conftest) write `<resource>: <problem>; <fix>`, e.g.
//     `aws_security_group.web: ingress allows SSH (22) from every public IPv4 address (0.0.0.0/0); restrict
//     cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager` — split on the last `; `
//     whose remainder starts with an instruction;
//   - Trivy gives a title, a description and a check id whose page on avd.aquasec.com says how to fix it;
//   - TFLint and `opa test` give a message (and a rule or test name).
// Nothing here shortens anything: renderers decide how much fits.
import type { Finding } from '../artifacts/types.js';

export interface ExplainedFinding {
  severity: string;
  id: string;
  resource?: string;
  /** file:line, when the tool said. */
  location?: string;
  /** What is wrong (plain text). */
  problem: string;
  /** What to do (plain text), when the finding says. */
  fix?: string;
  /** Where the fix is documented (Trivy's check page). */
  fixUrl?: string;
  /** The tool's whole message when it says more than `problem` (Trivy's description). */
  detail?: string;
}

/** Words that start an instruction in this repository's policy messages (`…; restrict …`, `…; pin …`). */
const INSTRUCTION =
  /^(add|allow|apply|attach|condition|create|declare|define|delete|deny|disable|drop|enable|encrypt|give|grant|keep|limit|make|move|narrow|pin|put|remove|rename|replace|require|restrict|run|scope|set|specify|switch|tag|turn|update|upgrade|use)\b/i;

/** Trivy check ids (`AVD-AWS-0104`, or `AWS-0104` in newer Trivy) and their page. */
const TRIVY_ID = /^(?:AVD-)?([A-Z][A-Z0-9]*-\d{3,4})$/i;
export const trivyCheckUrl = (id: string): string | undefined => {
  const match = TRIVY_ID.exec(id);
  return match?.[1] ? `https://avd.aquasec.com/misconfig/avd-${match[1].toLowerCase()}` : undefined;
};

export function explainFinding(finding: Finding, gate?: string): ExplainedFinding {
  const base = {
    severity: String(finding.severity),
    id: finding.id,
    ...(finding.resource ? { resource: finding.resource } : {}),
    ...(finding.location ? { location: finding.location } : {}),
  };
  const message = (finding.message ?? '').trim();
  if (gate === 'trivy' || (finding.title !== undefined && trivyCheckUrl(finding.id))) {
    const problem = (finding.title ?? message) || finding.id;
    const fixUrl = trivyCheckUrl(finding.id);
    return {
      ...base,
      problem,
      ...(message && message !== problem ? { detail: message } : {}),
      ...(fixUrl ? { fixUrl } : {}),
    };
  }
  const { resource, rest } = splitResource(message, finding.resource);
  const { problem, fix } = splitFix(rest);
  return {
    ...base,
    ...(resource && !base.resource ? { resource } : {}),
    problem: (problem || finding.title) ?? finding.id,
    ...(fix ? { fix } : {}),
  };
}

/** `aws_sg.web: …` or `aws_sg.web (dev/main.tf): …` → the resource, and the text after it. */
function splitResource(message: string, known: string | undefined): { resource?: string; rest: string } {
  const prefix = /^([a-z0-9_]+(?:\.[A-Za-z0-9_\-[\]"]+)+)(?: \([^)]*\))?: /.exec(message);
  if (!prefix?.[1]) return { rest: message };
  if (known && known !== prefix[1]) return { rest: message };
  return { resource: prefix[1], rest: message.slice(prefix[0].length) };
}

/** `problem; fix` when what follows the last `; ` is an instruction. */
function splitFix(text: string): { problem: string; fix?: string } {
  const at = text.lastIndexOf('; ');
  if (at <= 0) return { problem: text };
  const fix = text.slice(at + 2).trim();
  if (!INSTRUCTION.test(fix)) return { problem: text };
  return { problem: text.slice(0, at).trim(), fix };
}
