// One jest project for the whole repo: TypeScript through SWC (no type-check here; `npm run lint`
// runs tsc). Tests talk to real Postgres and NATS prepared by scripts/test.ts.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // .tsx (the widget's React code) gets its own rule: the TSX parser would misread `<T>(x) => ...` in plain .ts files.
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
    '^.+\\.tsx$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic' } } } }],
  },
  testMatch: ['<rootDir>/**/*.spec.ts', '<rootDir>/**/test/**/*.test.ts', '<rootDir>/integration-tests/**/*.test.ts', '<rootDir>/widget/test/**/*.test.tsx'],
  testPathIgnorePatterns: ['/node_modules/', '/.data/'],
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json'],
  testTimeout: 60000,
};
