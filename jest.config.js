// One jest project for the whole repo: TypeScript through SWC (no type-check here; `npm run lint`
// runs tsc). Tests talk to real Postgres and NATS prepared by scripts/test.ts.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  testMatch: ['<rootDir>/**/*.spec.ts', '<rootDir>/**/test/**/*.test.ts', '<rootDir>/integration-tests/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/.data/'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 60000,
};
