// Shared by the packaging and deployment tests (test/deploy/*.test.ts): where the files are, reading
// multi-document YAML strictly, and the settings list (src/config/settings.ts) seen as env names.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { SETTINGS } from '../../src/config/settings.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const deployDir = path.join(repoRoot, 'deploy');

export const readRepoFile = (relative: string): string =>
  fs.readFileSync(path.join(repoRoot, relative), 'utf8');

/** Every document of a YAML file, failing on any parse error or warning (a typo must not pass silently). */
export function yamlDocuments<T = Record<string, unknown>>(relative: string): T[] {
  const docs = YAML.parseAllDocuments(readRepoFile(relative), { uniqueKeys: true });
  const out: T[] = [];
  for (const doc of docs) {
    const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
    if (problems.length > 0) throw new Error(`${relative}: ${problems.join('; ')}`);
    const value = doc.toJS() as T | null;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

export const yamlDocument = <T = Record<string, unknown>>(relative: string): T => {
  const docs = yamlDocuments<T>(relative);
  if (docs.length !== 1) throw new Error(`${relative}: expected one YAML document, found ${docs.length}`);
  return docs[0]!;
};

export const SETTING_SPECS = Object.values(SETTINGS);
/** Env names of every setting, in declaration order. */
export const SETTING_ENVS: string[] = SETTING_SPECS.map((s) => s.env);
/** Env names of the settings marked secret. */
export const SECRET_ENVS: Set<string> = new Set(
  SETTING_SPECS.filter((s) => 'secret' in s && s.secret).map((s) => s.env),
);
export const settingByEnv = (env: string) => SETTING_SPECS.find((s) => s.env === env);

/** The default a setting takes when unset (e.g. PORT → 3000). */
export const settingDefault = (env: string): unknown => settingByEnv(env)?.schema.safeParse(undefined).data;

/** Values that look like real credentials (Slack, GitHub, PEM), wherever they appear. */
export const CREDENTIAL_PATTERN =
  /xox[abpr]-\d{6,}-|xapp-\d-[A-Z0-9]{6,}-|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9]{20,}_|-----BEGIN [A-Z ]*PRIVATE KEY-----\s*\n\s*MII/;
