import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

/**
 * The jupyterlab-jobs frontend plugin.
 *
 * The jobs panel, commands and settings arrive with the UI; until then the plugin only
 * announces that the extension's frontend was loaded.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-jobs:plugin',
  description: 'Run, watch, cancel and rerun batch jobs for your groups.',
  autoStart: true,
  requires: [],
  activate: (app: JupyterFrontEnd): void => {
    console.log('JupyterLab extension jupyterlab-jobs is activated!');
  }
};

export default plugin;
