// The measured processes run as compiled JavaScript, as production runs them (`node dist/main.js`, see the
// Dockerfile), not through tsx: no loader in their memory, no transpile-time helpers in their profiles, and
// line numbers a profile can point at. Each TypeScript file of src/ (as tsconfig.build.json selects them) and
// bench/bare-bolt.ts is transpiled on its own with TypeScript's transpileModule — what `npm run build` emits,
// without its type check, so a half-edited file elsewhere in the tree cannot stop the benchmark — into
// .cache/bench/build/, which mirrors the repository layout (schemas/ is linked, node_modules resolves upward).
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { repoRoot } from './util.js';

export const buildDir = path.join(repoRoot, '.cache', 'bench', 'build');

function tsFiles(dir: string, skip: (rel: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const rel = path.relative(repoRoot, full);
    if (skip(rel)) continue;
    if (entry.isDirectory()) out.push(...tsFiles(full, skip));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Transpiles src/ (without src/sandbox and src/cli, like tsconfig.build.json) and bench/bare-bolt.ts. */
export function buildForBench(): { dir: string; files: number; ms: number } {
  const started = Date.now();
  rmSync(buildDir, { recursive: true, force: true });
  const files = [
    ...tsFiles(path.join(repoRoot, 'src'), (rel) => rel === 'src/sandbox' || rel === 'src/cli'),
    path.join(repoRoot, 'bench', 'bare-bolt.ts'),
  ];
  for (const file of files) {
    const out = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        target: ts.ScriptTarget.ES2023,
        module: ts.ModuleKind.ES2022,
        esModuleInterop: true,
        verbatimModuleSyntax: true,
        sourceMap: false,
      },
    });
    const dest = path.join(buildDir, path.relative(repoRoot, file)).replace(/\.ts$/, '.js');
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, out.outputText);
  }
  // src/artifacts/validate.ts finds the JSON Schemas two levels above itself.
  symlinkSync(path.join(repoRoot, 'schemas'), path.join(buildDir, 'schemas'));
  writeFileSync(path.join(buildDir, 'package.json'), '{ "type": "module" }\n');
  return { dir: buildDir, files: files.length, ms: Date.now() - started };
}
