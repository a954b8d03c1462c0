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
  // Every test that needs Redis uses REDIS_URL; this stops the run at once when it does not answer.
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
};
