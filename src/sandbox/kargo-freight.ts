// Freight as Kargo makes and judges it, for the stand-in and its simulator:
// - freightId: Kargo's Freight.GenerateID — SHA-1 over the sorted artifact strings `Warehouse:<name>`,
//   `<repoURL>:<commit id or tag>`, `<repoURL>@<digest>`, `<repoURL>/<chart>:<version>`, joined by `|`;
// - freightAlias: an adjective-animal name like Kargo's (`frozen-tauntaun`), but chosen deterministically
//   from the Freight's name (SHA-256 → word indexes) so the same Freight always has the same alias (the
//   name follows the repository URL, which in the sandbox is under the console's address: another start,
//   another port, other aliases);
// - isFreightAvailable: Stage.IsFreightAvailable (kargo-api.md §4, Kargo 1.11);
// - commitsFromGit: the newest commits of a local git repository that touch a Warehouse's includePaths.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { parseGoDuration } from '../domain/duration.js';
import { formatGoDuration, isObject, type JsonObject } from './kargo-k8s.js';

const execFileAsync = promisify(execFile);

export interface GitCommit {
  repoURL: string;
  id: string;
  branch?: string;
  tag?: string;
  message?: string;
  author?: string;
  committer?: string;
}

export interface FreightOrigin {
  kind: string;
  name: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const arr = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** Kargo's deterministic Freight ID (metadata.name) for the artifacts of `freight`. */
export function freightId(freight: JsonObject): string {
  const origin = isObject(freight.origin) ? freight.origin : {};
  const parts = [`${str(origin.kind)}:${str(origin.name)}`];
  for (const c of arr(freight.commits)) parts.push(`${str(c.repoURL)}:${str(c.tag) || str(c.id)}`);
  for (const i of arr(freight.images)) parts.push(`${str(i.repoURL)}@${str(i.digest)}`);
  for (const c of arr(freight.charts)) parts.push(`${str(c.repoURL)}/${str(c.name)}:${str(c.version)}`);
  for (const a of arr(freight.artifacts)) parts.push(`${str(a.subscriptionName)}:${str(a.version)}`);
  parts.sort();
  return createHash('sha1').update(parts.join('|')).digest('hex');
}

const ADJECTIVES = (
  'agile amber bold brave bright calm clever cosmic crisp curious daring deft eager early fancy ' +
  'fearless fierce frozen gentle giddy golden grand happy hardy humble icy jolly keen kind lively loyal ' +
  'lucky mellow mighty misty nimble noble olive patient plucky polite proud quick quiet rapid rusty ' +
  'shiny silent silver sleek smart snowy solid spry steady sunny swift tidy tranquil upbeat vivid wise ' +
  'witty zesty'
).split(' ');
const ANIMALS = (
  'alpaca badger bantha beaver bison bobcat caribou cheetah condor coyote crane dewback dingo dolphin ' +
  'eagle egret falcon ferret gazelle gecko gopher heron ibex impala jackal jaguar kestrel koala lemur ' +
  'lynx magpie marmot marten meerkat moose narwhal ocelot osprey otter panda pelican puffin quokka ' +
  'rabbit raven robin salmon seal sparrow stork tapir tauntaun toucan turtle urchin viper walrus weasel ' +
  'wombat wren yak zebra ewok wampa'
).split(' ');

/** adjective-animal from the Freight name; `attempt` > 0 picks another pair (alias already taken). */
export function freightAlias(name: string, attempt = 0): string {
  const digest = createHash('sha256').update(`${name}#${attempt}`).digest();
  return `${ADJECTIVES[digest.readUInt16BE(0) % ADJECTIVES.length]}-${ANIMALS[digest.readUInt16BE(2) % ANIMALS.length]}`;
}

/** What a Promotion's status.freight and a Stage's freightHistory hold: a FreightReference. */
export function freightReference(freight: JsonObject): JsonObject {
  const meta = isObject(freight.metadata) ? freight.metadata : {};
  const ref: JsonObject = { name: meta.name, origin: freight.origin };
  for (const key of ['commits', 'images', 'charts', 'artifacts'] as const) {
    if (Array.isArray(freight[key]) && freight[key].length > 0) ref[key] = freight[key];
  }
  return ref;
}

/** `Warehouse/<name>`: how freightHistory / freightCollection key a Freight's origin. */
export const originKey = (origin: unknown): string =>
  isObject(origin) ? `${str(origin.kind) || 'Warehouse'}/${str(origin.name)}` : 'Warehouse/';

const sameOrigin = (a: unknown, b: unknown): boolean => originKey(a) === originKey(b);

/** When the Freight came to be: discoveredAt, else creationTimestamp (epoch ms, 0 if unknown). */
export function freightTime(freight: JsonObject): number {
  const meta = isObject(freight.metadata) ? freight.metadata : {};
  return Date.parse(str(freight.discoveredAt) || str(meta.creationTimestamp)) || 0;
}

export const newestFirst = (a: JsonObject, b: JsonObject): number =>
  freightTime(b) - freightTime(a) ||
  str((b.metadata as JsonObject | undefined)?.creationTimestamp).localeCompare(
    str((a.metadata as JsonObject | undefined)?.creationTimestamp),
  ) ||
  str((a.metadata as JsonObject | undefined)?.name).localeCompare(
    str((b.metadata as JsonObject | undefined)?.name),
  );

/** Stage.IsFreightAvailable (Kargo 1.11): approval only counts within a requested origin. */
export function isFreightAvailable(stage: JsonObject, freight: JsonObject, now: Date): boolean {
  const stageName = str((stage.metadata as JsonObject | undefined)?.name);
  const spec = isObject(stage.spec) ? stage.spec : {};
  const status = isObject(freight.status) ? freight.status : {};
  const verifiedIn = isObject(status.verifiedIn) ? status.verifiedIn : {};
  const currentlyIn = isObject(status.currentlyIn) ? status.currentlyIn : {};
  const approvedFor = isObject(status.approvedFor) ? status.approvedFor : {};
  for (const req of arr(spec.requestedFreight)) {
    if (!sameOrigin(req.origin, freight.origin)) continue;
    if (approvedFor[stageName] !== undefined) return true;
    const sources = isObject(req.sources) ? req.sources : {};
    if (sources.direct === true) return true;
    const required = str(sources.requiredSoakTime)
      ? (parseGoDuration(str(sources.requiredSoakTime)) ?? Infinity)
      : 0;
    const ok = (up: string): boolean => {
      const verified = verifiedIn[up];
      if (!isObject(verified)) return false;
      if (required <= 0) return true;
      const longest = str(verified.longestSoak) ? (parseGoDuration(str(verified.longestSoak)) ?? 0) : 0;
      const current = currentlyIn[up];
      const since = isObject(current) ? Date.parse(str(current.since)) : NaN;
      const running = Number.isFinite(since) ? now.getTime() - since : 0;
      return Math.max(longest, running) >= required;
    };
    const upstream = Array.isArray(sources.stages) ? sources.stages.map(String) : [];
    if (upstream.length === 0) continue;
    if (sources.availabilityStrategy === 'All' ? upstream.every(ok) : upstream.some(ok)) return true;
  }
  return false;
}

/** How long a Freight soaked in a Stage it is leaving, merged into verifiedIn[stage].longestSoak. */
export function longestSoak(
  previous: string | undefined,
  sinceIso: string | undefined,
  now: Date,
): string | undefined {
  const since = Date.parse(sinceIso ?? '');
  if (!Number.isFinite(since)) return previous;
  const soaked = Math.max(0, Math.round((now.getTime() - since) / 1000) * 1000);
  const before = previous ? (parseGoDuration(previous) ?? 0) : 0;
  return formatGoDuration(Math.max(before, soaked));
}

// ---- freight from git ------------------------------------------------------------------------------------

export interface GitSubscription {
  repoURL: string;
  branch?: string;
  includePaths?: string[];
  excludePaths?: string[];
}

export interface DiscoveredCommit {
  id: string;
  subject: string;
  author: string;
  committer: string;
  committedAt: string;
  files: string[];
}

/**
 * Kargo's path filters: a plain entry matches the path itself and everything under it (prefix), `glob:` a
 * glob (`*` within a segment, `**` across), `regex:` / `regexp:` a regular expression. No include paths =
 * everything; excludes win.
 */
export function pathSelected(
  file: string,
  includePaths: string[] = [],
  excludePaths: string[] = [],
): boolean {
  const matches = (pattern: string): boolean => {
    if (pattern.startsWith('regex:') || pattern.startsWith('regexp:')) {
      return new RegExp(pattern.slice(pattern.indexOf(':') + 1)).test(file);
    }
    if (pattern.startsWith('glob:')) {
      const glob = pattern.slice(5);
      const re = glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '\uE000')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replaceAll('\uE000', '.*');
      return new RegExp(`^${re}$`).test(file);
    }
    const prefix = pattern.replace(/^\.\//, '');
    return (
      file === prefix.replace(/\/$/, '') || file.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)
    );
  };
  if (excludePaths.some(matches)) return false;
  return includePaths.length === 0 || includePaths.some(matches);
}

/**
 * The newest `limit` commits of `ref` (default HEAD, i.e. the current branch) in `repoDir` that touch the
 * subscription's paths, newest first. Looks at most `scan` commits back.
 */
export async function commitsFromGit(
  repoDir: string,
  subscription: GitSubscription,
  options: { limit: number; ref?: string; scan?: number },
): Promise<DiscoveredCommit[]> {
  const SEP = '\u001e';
  const { stdout } = await execFileAsync(
    'git',
    [
      '-C',
      repoDir,
      'log',
      `--max-count=${options.scan ?? 500}`,
      '--name-only',
      `--format=${SEP}%H%x00%s%x00%an <%ae>%x00%cn <%ce>%x00%cI`,
      options.ref ?? 'HEAD',
      '--',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const commits: DiscoveredCommit[] = [];
  for (const chunk of stdout.split(SEP)) {
    if (!chunk.trim()) continue;
    const [head = '', ...rest] = chunk.split('\n');
    const [id = '', subject = '', author = '', committer = '', committedAt = ''] = head.split('\u0000');
    const files = rest.map((l) => l.trim()).filter(Boolean);
    if (!files.some((f) => pathSelected(f, subscription.includePaths, subscription.excludePaths))) continue;
    commits.push({ id, subject, author, committer, committedAt, files });
    if (commits.length >= options.limit) break;
  }
  return commits;
}
