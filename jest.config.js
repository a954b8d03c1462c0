// Jest runs TypeScript as native ESM (node --experimental-vm-modules), because several dependencies
// (@octokit/rest 22, @kubernetes/client-node 1.x) ship ESM only. ts-jest transpiles per file
// (isolatedModules); `npm run typecheck` does the whole-program type check.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  // The browser story (test/e2e/*.e2e.test.ts) is its own run: `npm run e2e`.
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/src/**/*.test.ts', '!**/test/e2e/**'],
  testTimeout: 30_000,
  // On two cores jest runs in band: every suite shares the main process, so one handle a suite leaves open
  // (a socket, a timer) keeps the run from exiting after it has written its results, and CI never ends.
  // The results are complete by then, so forcing the exit loses nothing; find such a leak with
  // `npm run test:jest -- --detectOpenHandles <file>`.
  forceExit: true,
  // Every test that needs Redis uses REDIS_URL; this stops the run at once when it does not answer.
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
};
