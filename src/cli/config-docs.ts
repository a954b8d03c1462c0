// `npm run config:docs`: rewrites the configuration reference in README.md from src/config/settings.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { replaceConfigReference } from '../config/docs.js';

const readmePath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md');
const before = readFileSync(readmePath, 'utf8');
const after = replaceConfigReference(before);
if (after !== before) writeFileSync(readmePath, after);
console.log(
  after === before
    ? 'README configuration reference is up to date'
    : 'README configuration reference updated',
);
