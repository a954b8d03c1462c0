import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction, ErrorObject } from 'ajv';
import * as addFormatsModule from 'ajv-formats';
import type { ArtifactKind, ArtifactTypes } from './types.js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the callable sits on `.default`.
type AddFormats = (ajv: Ajv2020) => Ajv2020;
const addFormats = (addFormatsModule as unknown as { default: AddFormats }).default;

export const schemaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');

const schemaFiles: Record<ArtifactKind, string> = {
  'gate-result': 'gate-result.schema.json',
  'plan-summary': 'plan-summary.schema.json',
  'terraform-outputs': 'terraform-outputs.schema.json',
  drift: 'drift.schema.json',
};

let validators: Record<ArtifactKind, ValidateFunction> | undefined;

function compileValidators(): Record<ArtifactKind, ValidateFunction> {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  for (const file of Object.values(schemaFiles)) {
    ajv.addSchema(JSON.parse(readFileSync(path.join(schemaDir, file), 'utf8')) as object, file);
  }
  const get = (kind: ArtifactKind): ValidateFunction => {
    const fn = ajv.getSchema(schemaFiles[kind]);
    if (!fn) throw new Error(`schema ${schemaFiles[kind]} did not compile`);
    return fn;
  };
  return {
    'gate-result': get('gate-result'),
    'plan-summary': get('plan-summary'),
    'terraform-outputs': get('terraform-outputs'),
    drift: get('drift'),
  };
}

export type ValidationResult<K extends ArtifactKind> =
  { ok: true; value: ArtifactTypes[K] } | { ok: false; errors: string[] };

/** Checks `data` against the artifact's JSON Schema; errors read like `/findings/high: must be integer`. */
export function validateArtifact<K extends ArtifactKind>(kind: K, data: unknown): ValidationResult<K> {
  validators ??= compileValidators();
  const validate = validators[kind];
  if (validate(data)) return { ok: true, value: data as ArtifactTypes[K] };
  return { ok: false, errors: (validate.errors ?? []).map(describeError) };
}

function describeError(error: ErrorObject): string {
  const where = error.instancePath === '' ? '(root)' : error.instancePath;
  const extra =
    error.keyword === 'additionalProperties'
      ? ` (${String((error.params as { additionalProperty?: string }).additionalProperty)})`
      : error.keyword === 'enum'
        ? ` (one of ${JSON.stringify((error.params as { allowedValues?: unknown }).allowedValues)})`
        : '';
  return `${where}: ${error.message ?? error.keyword}${extra}`;
}
