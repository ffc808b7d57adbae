/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The dashboard's component tests run in vitest (npm run test:web), its end-to-end tests in Playwright.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/web/', '<rootDir>/test/e2e/'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 120_000,
  // Two cores: two test files at a time, sharing one Temporal dev server and one database.
  maxWorkers: 2,
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
};
