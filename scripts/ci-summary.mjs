// Reads jest's JSON result files and prints, last, one line `N passed, N failed` for the CI record.
// Skipped tests are listed before it; each one not allowed by test/skips-allowed.json (full test name →
// reason) counts as failed, because a test that does not run proves nothing. Exit 1 when anything failed.
import { existsSync, readFileSync } from 'node:fs';

const allowed = existsSync('test/skips-allowed.json')
  ? JSON.parse(readFileSync('test/skips-allowed.json', 'utf8'))
  : {};
let passed = 0;
let failed = 0;
const skipped = [];
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.log(`${file}: missing (the run never reached jest)`);
    failed += 1;
    continue;
  }
  const results = JSON.parse(readFileSync(file, 'utf8'));
  passed += results.numPassedTests;
  failed += results.numFailedTests + (results.numRuntimeErrorTestSuites || 0);
  for (const suite of results.testResults) {
    for (const test of suite.assertionResults) {
      if (test.status === 'pending' || test.status === 'skipped' || test.status === 'todo') {
        skipped.push({ file: suite.name.replace(`${process.cwd()}/`, ''), name: test.fullName });
      }
    }
  }
}
let unexplained = 0;
for (const s of skipped) {
  const reason = allowed[s.name];
  if (reason) console.log(`skipped (allowed): ${s.file} › ${s.name} — ${reason}`);
  else {
    unexplained += 1;
    console.log(`SKIPPED, not allowed: ${s.file} › ${s.name}`);
  }
}
console.log(`${skipped.length} skipped (${skipped.length - unexplained} allowed with a reason)`);
failed += unexplained;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
