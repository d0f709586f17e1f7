import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { errorMessage, IJob, IJobRequest, JobsAPI } from './api';
import { PanelContent } from './components/PanelContent';
import { statusLabel } from './components/StatusBadge';
import { TRANSLATION_DOMAIN } from './i18n';
import { jobsIcon } from './icons';
import { JobsModel } from './model';
import { submitNotebookAsJob } from './notebook';
import { formatParameters } from './parameters';
import { ISchedule, SchedulesAPI } from './schedules/api';

export type JobsView =
  | { kind: 'list' }
  | { kind: 'create'; initial?: Partial<IJobRequest> }
  | { kind: 'detail'; id: string }
  | { kind: 'schedules' }
  | { kind: 'schedule-create'; initialJob?: Partial<IJobRequest> }
  | { kind: 'schedule-edit'; schedule: ISchedule }
  | { kind: 'schedule-detail'; id: string };

export namespace JobsPanel {
  export interface IOptions {
    model: JobsModel;
    api: JobsAPI;
    /** Open a file of the Jupyter root directory (an output notebook). */
    openPath: (path: string) => void;
    /** Show how to configure groups, instance types and images (the README's). */
    openConfigurationDocs: () => void;
    translator: ITranslator;
  }
}

/**
 * The Jobs sidebar: the job list, the Create Job form and a job's detail, one at a
 * time. The model polls only while this panel is visible.
 */
export class JobsPanel extends ReactWidget {
  constructor(options: JobsPanel.IOptions) {
    super();
    this.model = options.model;
    this.api = options.api;
    this.schedulesApi = new SchedulesAPI(options.api.settings);
    this._openPath = options.openPath;
    this.openConfigurationDocs = options.openConfigurationDocs;
    this.trans = options.translator.load(TRANSLATION_DOMAIN);
    this.id = 'jupyterlab-jobs-panel';
    this.addClass('jp-Jobs-panel');
    this.title.icon = jobsIcon;
    this.title.caption = this.trans.__('Jobs');
  }

  readonly model: JobsModel;
  readonly api: JobsAPI;
  readonly schedulesApi: SchedulesAPI;
  readonly trans: TranslationBundle;
  readonly openConfigurationDocs: () => void;

  /** The default group of the Create Job form (a setting). */
  defaultGroup = '';
  /** How many log lines a job's detail keeps on the page (a setting). */
  maxLogLines = 5000;

  get view(): JobsView {
    return this._view;
  }

  showList(): void {
    this._setView({ kind: 'list' });
  }

  showCreate(initial?: Partial<IJobRequest>): void {
    this._setView({ kind: 'create', initial });
  }

  showDetail(id: string): void {
    this._setView({ kind: 'detail', id });
  }

  showSchedules(): void {
    this._setView({ kind: 'schedules' });
  }

  showSchedule(id: string): void {
    this._setView({ kind: 'schedule-detail', id });
  }

  /** The schedule form: a new schedule (of `initialJob`), or `schedule` to edit. */
  showScheduleForm(
    options: { initialJob?: Partial<IJobRequest>; schedule?: ISchedule } = {}
  ): void {
    this._setView(
      options.schedule
        ? { kind: 'schedule-edit', schedule: options.schedule }
        : { kind: 'schedule-create', initialJob: options.initialJob }
    );
  }

  /** Ask, then cancel; true when it was cancelled. */
  async cancel(job: IJob): Promise<boolean> {
    const trans = this.trans;
    const result = await showDialog({
      title: trans.__('Cancel job?'),
      body: trans.__(
        '"%1" (%2) will be stopped. Its output so far stays in the log. This cannot be undone.',
        job.name,
        statusLabel(job.status, trans)
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Keep running') }),
        Dialog.warnButton({ label: trans.__('Cancel job') })
      ]
    });
    if (!result.button.accept) {
      return false;
    }
    try {
      await this.model.cancel(job.id);
      return true;
    } catch (error) {
      Notification.error(
        trans.__(
          'Could not cancel "%1": %2',
          job.name,
          errorMessage(error, trans)
        ),
        { autoClose: 8000 }
      );
      return false;
    }
  }

  /**
   * Rerun; the new job, or null when it failed (the user was told why) or the user
   * did not confirm the rerun of someone else's job (which would run as them).
   */
  async rerun(job: IJob): Promise<IJob | null> {
    const trans = this.trans;
    if (job.user !== this.model.options?.user) {
      const confirmed = await this._confirmRerunOfOther(job);
      if (!confirmed) {
        return null;
      }
    }
    try {
      const fresh = await this.model.rerun(job.id);
      Notification.info(trans.__('Rerunning "%1"', fresh.name), {
        autoClose: 5000,
        actions: [
          {
            label: trans.__('Show job'),
            callback: () => this.showDetail(fresh.id)
          }
        ]
      });
      return fresh;
    } catch (error) {
      Notification.error(
        trans.__(
          'Could not rerun "%1": %2',
          job.name,
          errorMessage(error, trans)
        ),
        { autoClose: 8000 }
      );
      return null;
    }
  }

  /**
   * Clone to form: the Create Job form with a command job's inputs, or the Submit
   * notebook form with a notebook job's notebook and parameters (its command is the
   * server's internal one, which would fail as a command job).
   */
  clone(job: IJob): void {
    if (!job.notebook) {
      this.showCreate({
        name: job.name,
        group: job.group,
        instance_type: job.instance_type,
        image: job.image,
        command: job.command
      });
      return;
    }
    void submitNotebookAsJob({
      model: this.model,
      path: job.notebook,
      content: null,
      defaultGroup: this.defaultGroup,
      showJob: id => this.showDetail(id),
      trans: this.trans,
      initial: {
        name: job.name,
        group: job.group,
        instance_type: job.instance_type,
        image: job.image,
        parameters: formatParameters(job.parameters ?? {})
      }
    });
  }

  /** Ask before rerunning a job someone else submitted: it will run as the caller. */
  private async _confirmRerunOfOther(job: IJob): Promise<boolean> {
    const trans = this.trans;
    const me = this.model.options?.user ?? '';
    const parameters = Object.keys(job.parameters ?? {}).length
      ? formatParameters(job.parameters ?? {})
      : '';
    const body = (
      <div className="jp-Jobs-rerunConfirm">
        <p>
          {trans.__(
            '%1 submitted this job. The rerun runs as you (%2) in group %3, with:',
            job.user,
            me,
            job.group
          )}
        </p>
        {job.notebook ? (
          <>
            <p>
              {trans.__('Notebook')} <code>{job.notebook}</code>
            </p>
            {parameters && (
              <pre className="jp-Jobs-commandText">{parameters}</pre>
            )}
          </>
        ) : (
          <pre className="jp-Jobs-commandText">{job.command}</pre>
        )}
      </div>
    );
    const result = await showDialog({
      title: trans.__('Rerun a job of %1?', job.user),
      body,
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Rerun as me') })
      ]
    });
    return result.button.accept;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.setVisible(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.setVisible(false);
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.model.setVisible(this.isVisible);
  }

  protected onBeforeDetach(msg: Message): void {
    this.model.setVisible(false);
    super.onBeforeDetach(msg);
  }

  render(): JSX.Element {
    return <PanelContent panel={this} />;
  }

  openPath(path: string): void {
    this._openPath(path);
  }

  private _setView(view: JobsView): void {
    this._view = view;
    this.update();
  }

  private _view: JobsView = { kind: 'list' };
  private _openPath: (path: string) => void;
}
