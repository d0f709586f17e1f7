import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  Notification,
  ToolbarButton
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import {
  INotebookModel,
  INotebookTracker,
  NotebookPanel
} from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

import { errorMessage, IJob, JobsAPI } from './api';
import { statusLabel } from './components/StatusBadge';
import { configurationDocs } from './docs';
import { TRANSLATION_DOMAIN } from './i18n';
import { jobsIcon } from './icons';
import { JobsModel } from './model';
import { submitNotebookAsJob } from './notebook';
import { JobsPanel } from './panel';

const PLUGIN_ID = 'jupyterlab-jobs:plugin';

/** The command ids, for the palette, menus, keyboard shortcuts and tests. */
export namespace CommandIDs {
  export const open = 'jobs:open';
  export const create = 'jobs:create';
  export const openJob = 'jobs:open-job';
  export const refresh = 'jobs:refresh';
  export const submitNotebook = 'jobs:submit-notebook';
  export const submitFile = 'jobs:submit-notebook-file';
  export const configurationDocs = 'jobs:configuration-docs';
}

interface ISettings {
  pollInterval: number;
  notifications: boolean;
  defaultGroup: string;
  logLines: number;
}

const DEFAULT_SETTINGS: ISettings = {
  pollInterval: 5,
  notifications: true,
  defaultGroup: '',
  logLines: 5000
};

/** The notification for a job of mine that ended. */
function notifyFinished(
  job: IJob,
  show: () => void,
  trans: TranslationBundle
): void {
  const ended: Record<string, string> = {
    Succeeded: trans.__('Job "%1" succeeded', job.name),
    Failed: trans.__('Job "%1" failed', job.name),
    Cancelled: trans.__('Job "%1" cancelled', job.name)
  };
  const head =
    ended[job.status] ??
    trans.__('Job "%1": %2', job.name, statusLabel(job.status, trans));
  const message = job.message ? trans.__('%1: %2', head, job.message) : head;
  const type =
    job.status === 'Succeeded'
      ? 'success'
      : job.status === 'Failed'
        ? 'error'
        : 'info';
  Notification.emit(
    message.length > 140 ? message.slice(0, 139) + '…' : message,
    type,
    {
      autoClose: job.status === 'Succeeded' ? 8000 : false,
      actions: [{ label: trans.__('Show job'), callback: show }]
    }
  );
}

/**
 * The jupyterlab-jobs frontend: the Jobs sidebar, its commands and settings,
 * notifications when the user's jobs end, and "Submit notebook as job".
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Run, watch, cancel and rerun batch jobs for your groups.',
  autoStart: true,
  requires: [],
  optional: [
    ISettingRegistry,
    ICommandPalette,
    ILayoutRestorer,
    ILabShell,
    INotebookTracker,
    IDefaultFileBrowser,
    IDocumentManager,
    ITranslator,
    IRenderMimeRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    labShell: ILabShell | null,
    notebooks: INotebookTracker | null,
    fileBrowser: IDefaultFileBrowser | null,
    docManager: IDocumentManager | null,
    translator: ITranslator | null,
    rendermime: IRenderMimeRegistry | null
  ): void => {
    const { commands } = app;
    translator = translator ?? nullTranslator;
    const trans = translator.load(TRANSLATION_DOMAIN);
    const settings: ISettings = { ...DEFAULT_SETTINGS };
    const api = new JobsAPI(app.serviceManager.serverSettings);
    const model = new JobsModel({
      client: api,
      pollInterval: settings.pollInterval,
      trans
    });
    const openPath = (path: string) => {
      if (docManager) {
        docManager.openOrReveal(path);
      } else {
        void commands.execute('docmanager:open', { path });
      }
    };
    const openConfigurationDocs = () =>
      void commands.execute(CommandIDs.configurationDocs);
    const panel = new JobsPanel({
      model,
      api,
      openPath,
      openConfigurationDocs,
      translator
    });
    app.shell.add(panel, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(panel, 'jupyterlab-jobs');
    }

    const reveal = () => {
      if (labShell) {
        labShell.activateById(panel.id);
      } else {
        app.shell.activateById(panel.id);
      }
    };
    const showJob = (id: string) => {
      panel.showDetail(id);
      reveal();
    };

    model.jobFinished.connect((_, job) => {
      if (settings.notifications) {
        notifyFinished(job, () => showJob(job.id), trans);
      }
    });

    const applySettings = (loaded: ISettingRegistry.ISettings) => {
      const composite = loaded.composite as Partial<ISettings>;
      settings.pollInterval = Number(
        composite.pollInterval ?? DEFAULT_SETTINGS.pollInterval
      );
      settings.notifications = composite.notifications !== false;
      settings.defaultGroup = String(composite.defaultGroup ?? '');
      settings.logLines = Number(
        composite.logLines ?? DEFAULT_SETTINGS.logLines
      );
      model.pollInterval = settings.pollInterval;
      model.watchEnabled = settings.notifications;
      panel.defaultGroup = settings.defaultGroup;
      panel.maxLogLines = settings.logLines;
      panel.update();
    };
    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(loaded => {
          applySettings(loaded);
          loaded.changed.connect(applySettings);
        })
        .catch(reason =>
          console.error('jupyterlab-jobs: could not load settings', reason)
        );
    }

    commands.addCommand(CommandIDs.open, {
      label: trans.__('Open Jobs Panel'),
      caption: trans.__('Show the jobs of your groups'),
      icon: args => (args.isPalette ? undefined : jobsIcon),
      execute: () => {
        panel.showList();
        reveal();
      }
    });
    commands.addCommand(CommandIDs.create, {
      label: trans.__('Create Job'),
      caption: trans.__(
        'Create a job that runs a command for one of your groups'
      ),
      execute: () => {
        panel.showCreate();
        reveal();
      }
    });
    commands.addCommand(CommandIDs.openJob, {
      label: trans.__('Show Job'),
      execute: args => {
        const id = String(args.id ?? '');
        if (id) {
          showJob(id);
        }
      }
    });
    let docs: Widget | null = null;
    commands.addCommand(CommandIDs.configurationDocs, {
      label: trans.__('Jobs Configuration Help'),
      caption: trans.__(
        'How an administrator configures groups, instance types and images'
      ),
      execute: async () => {
        if (!docs || docs.isDisposed) {
          docs = await configurationDocs(rendermime, trans);
          app.shell.add(docs, 'main');
        }
        app.shell.activateById(docs.id);
      }
    });
    commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh Jobs'),
      execute: () => model.refreshNow()
    });

    const submit = async (path: string, content: unknown) => {
      await submitNotebookAsJob({
        model,
        path,
        content,
        defaultGroup: settings.defaultGroup,
        showJob,
        trans,
        scheduleJob: request => {
          panel.showScheduleForm({ initialJob: request });
          reveal();
        }
      });
    };

    /** Save the open notebook (if it has unsaved changes) and submit it. */
    const submitPanel = async (notebook: NotebookPanel) => {
      await notebook.context.ready;
      if (notebook.context.model.dirty && !notebook.context.model.readOnly) {
        await notebook.context.save();
      }
      await submit(notebook.context.path, notebook.context.model.toJSON());
    };

    commands.addCommand(CommandIDs.submitNotebook, {
      label: args =>
        args.isPalette
          ? trans.__('Submit Current Notebook as Job')
          : trans.__('Submit Notebook as Job…'),
      caption: trans.__(
        'Run a snapshot of this notebook as a job, with parameters'
      ),
      icon: args => (args.isPalette ? undefined : jobsIcon),
      isEnabled: () => !!notebooks?.currentWidget,
      execute: async args => {
        const path = typeof args.path === 'string' ? args.path : '';
        if (path) {
          await submitFile(path);
          return;
        }
        const current = notebooks?.currentWidget;
        if (current) {
          await submitPanel(current);
        }
      }
    });

    /** Submit a notebook file, saving it first when it is open with changes. */
    const submitFile = async (path: string) => {
      const open = docManager?.findWidget(path);
      if (open && open instanceof NotebookPanel) {
        await submitPanel(open);
        return;
      }
      const file = await app.serviceManager.contents.get(path, {
        content: true,
        type: 'notebook'
      });
      await submit(path, file.content);
    };

    commands.addCommand(CommandIDs.submitFile, {
      label: trans.__('Submit Notebook as Job…'),
      caption: trans.__(
        'Run a snapshot of this notebook as a job, with parameters'
      ),
      icon: jobsIcon,
      isVisible: () => {
        const item = fileBrowser?.selectedItems().next();
        return !!item && !item.done && item.value.path.endsWith('.ipynb');
      },
      execute: async () => {
        const item = fileBrowser?.selectedItems().next();
        if (item && !item.done) {
          await submitFile(item.value.path);
        }
      }
    });

    app.contextMenu.addItem({
      command: CommandIDs.submitFile,
      selector: '.jp-DirListing-item[data-file-type="notebook"]',
      rank: 10
    });

    // The notebook toolbar button.
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew(
        notebook: NotebookPanel,
        context: DocumentRegistry.IContext<INotebookModel>
      ): IDisposable {
        const button = new ToolbarButton({
          className: 'jp-Jobs-submitNotebookButton',
          icon: jobsIcon,
          label: trans.__('Run as job'),
          tooltip: trans.__('Submit this notebook as a job'),
          onClick: () => {
            void submitPanel(notebook).catch(error =>
              Notification.error(errorMessage(error, trans), {
                autoClose: 8000
              })
            );
          }
        });
        notebook.toolbar.insertItem(10, 'submitAsJob', button);
        return new DisposableDelegate(() => button.dispose());
      }
    });

    if (palette) {
      const category = trans.__('Jobs');
      for (const command of [
        CommandIDs.open,
        CommandIDs.create,
        CommandIDs.refresh,
        CommandIDs.submitNotebook,
        CommandIDs.configurationDocs
      ]) {
        palette.addItem({ command, category, args: { isPalette: true } });
      }
    }
  }
};

export default plugin;
