// run-results: every result artifact of one run in one file (the workflow's `results` job writes it; see
// schemas/run-results.schema.json). The bot reads it instead of downloading each artifact, and validates
// each entry's text exactly as it would the artifact's own file.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import { schemaDir } from './validate.js';

export const RUN_RESULTS_ARTIFACT = 'run-results';
export const RUN_RESULTS_FILE = 'run-results.json';

export interface RunResultsEntry {
  /** The artifact's name, e.g. `gate-trivy-aws-prod`. */
  name: string;
  /** The file the artifact should hold (`gate-result.json`, ...). */
  file: string;
  /** The file's text, unchanged; absent when the artifact did not hold that file. */
  content?: string;
}

export interface RunResults {
  schemaVersion: 1;
  run: { id: number; attempt: number };
  artifacts: RunResultsEntry[];
}

let validator: ValidateFunction | undefined;

function compile(): ValidateFunction {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const schema = JSON.parse(readFileSync(path.join(schemaDir, 'run-results.schema.json'), 'utf8')) as object;
  return ajv.compile(schema);
}

/** The text of run-results.json → RunResults, or why it cannot be used. */
export function parseRunResults(
  text: string,
): { ok: true; value: RunResults } | { ok: false; problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not JSON: ${(error as Error).message}` };
  }
  validator ??= compile();
  if (!validator(data)) {
    const errors = (validator.errors ?? [])
      .slice(0, 3)
      .map((e) => `${e.instancePath || '(root)'}: ${e.message ?? e.keyword}`);
    return { ok: false, problem: `does not match schemas/run-results.schema.json: ${errors.join('; ')}` };
  }
  const value = data as RunResults;
  const names = value.artifacts.map((a) => a.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) return { ok: false, problem: `${twice} is listed twice` };
  return { ok: true, value };
}
