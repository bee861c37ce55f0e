/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testTimeout: 120000,
  // One test file at a time: the packed-tarball test compiles the prebuild, and the event-loop
  // test measures latency; on a 2-core machine they must not share the cores.
  maxWorkers: 1,
};
