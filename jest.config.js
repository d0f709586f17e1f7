const jestJupyterLab = require('@jupyterlab/testing/lib/jest-config');

const baseConfig = jestJupyterLab(__dirname);

module.exports = {
  ...baseConfig,
  automock: false,
  collectCoverageFrom: ['src/**/*.{ts,tsx}', '!src/**/*.d.ts'],
  // The base config also writes junit.xml and GitHub annotations; plain output is enough.
  reporters: ['default'],
  testRegex: 'src/.*/.*.spec.ts[x]?$',
  // The venv and the built labextension hold package.json files of their own.
  modulePathIgnorePatterns: [
    '<rootDir>/.venv',
    '<rootDir>/jupyterlab_jobs',
    '<rootDir>/ui-tests',
    '<rootDir>/lib'
  ]
};
