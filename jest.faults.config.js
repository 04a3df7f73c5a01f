// `npm run test:faults`: the fault-injection suite alone (integration-tests/faults). It starts its
// own Postgres, chains, NATS cluster and services, so it runs apart from `npm test`'s jest.
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['<rootDir>/integration-tests/faults/**/*.faults.ts'],
  testTimeout: 40 * 60 * 1000,
};
