const jestJupyterLab = require('@jupyterlab/testing/lib/jest-config');

const baseConfig = jestJupyterLab(__dirname);

// As in JupyterLab's extension template: @jupyterlab packages ship ES modules (e.g.
// @jupyterlab/translation), which jest must transform, besides the base config's list.
const esModules = [
  '@codemirror',
  '@jupyter/ydoc',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@jupyterlab/',
  '@microsoft',
  'exenv-es6',
  'lib0',
  'marked',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

module.exports = {
  ...baseConfig,
  automock: false,
  collectCoverageFrom: ['src/**/*.{ts,tsx}', '!src/**/*.d.ts'],
  // The base config also writes junit.xml and GitHub annotations; plain output is enough.
  reporters: ['default'],
  testRegex: 'src/.*/.*.spec.ts[x]?$',
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`],
  // Markdown is bundled as its text (src/docs.ts shows the README's configuration).
  transform: {
    ...baseConfig.transform,
    '\\.md$': '@jupyterlab/testing/lib/jest-raw-loader.js'
  },
  // The venv and the built labextension hold package.json files of their own.
  modulePathIgnorePatterns: [
    '<rootDir>/.venv',
    '<rootDir>/jupyterlab_jobs',
    '<rootDir>/ui-tests',
    '<rootDir>/lib'
  ]
};
