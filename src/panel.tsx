import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { errorMessage, IJob, IJobRequest, JobsAPI } from './api';
import { CreateJobForm } from './components/CreateJobForm';
import { useSignal } from './components/hooks';
import { JobDetail } from './components/JobDetail';
import { JobList } from './components/JobList';
import { ScheduleForm } from './components/ScheduleForm';
import { ScheduleDetail, ScheduleList } from './components/Schedules';
import { jobsIcon } from './icons';
import { JobsModel } from './model';
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
    this.id = 'jupyterlab-jobs-panel';
    this.addClass('jp-Jobs-panel');
    this.title.icon = jobsIcon;
    this.title.caption = 'Jobs';
  }

  readonly model: JobsModel;
  readonly api: JobsAPI;
  readonly schedulesApi: SchedulesAPI;

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
    const result = await showDialog({
      title: 'Cancel job?',
      body: `"${job.name}" (${job.status}) will be stopped. Its output so far stays in the log. This cannot be undone.`,
      buttons: [
        Dialog.cancelButton({ label: 'Keep running' }),
        Dialog.warnButton({ label: 'Cancel job' })
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
        `Could not cancel "${job.name}": ${errorMessage(error)}`,
        {
          autoClose: 8000
        }
      );
      return false;
    }
  }

  /** Rerun; the new job, or null when it failed (the user was told why). */
  async rerun(job: IJob): Promise<IJob | null> {
    try {
      const fresh = await this.model.rerun(job.id);
      Notification.info(`Rerunning "${fresh.name}"`, {
        autoClose: 5000,
        actions: [
          {
            label: 'Show job',
            callback: () => this.showDetail(fresh.id)
          }
        ]
      });
      return fresh;
    } catch (error) {
      Notification.error(
        `Could not rerun "${job.name}": ${errorMessage(error)}`,
        {
          autoClose: 8000
        }
      );
      return null;
    }
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

function PanelContent(props: { panel: JobsPanel }): JSX.Element {
  const { panel } = props;
  const { model } = panel;
  useSignal(model.changed);
  const view = panel.view;
  let content: JSX.Element;
  if (view.kind === 'create') {
    content = (
      <CreateJobForm
        key={JSON.stringify(view.initial ?? {})}
        options={model.options}
        initial={view.initial}
        defaultGroup={panel.defaultGroup}
        submit={request => model.create(request)}
        onSubmitted={job => panel.showDetail(job.id)}
        onCancel={() => panel.showList()}
        onSchedule={request => panel.showScheduleForm({ initialJob: request })}
      />
    );
  } else if (view.kind === 'detail') {
    content = (
      <JobDetail
        model={model}
        api={panel.api}
        jobId={view.id}
        maxLogLines={panel.maxLogLines}
        onBack={() => panel.showList()}
        onCancel={async job => {
          await panel.cancel(job);
        }}
        onRerun={async job => {
          const fresh = await panel.rerun(job);
          if (fresh) {
            panel.showDetail(fresh.id);
          }
        }}
        onClone={job =>
          panel.showCreate({
            name: job.name,
            group: job.group,
            instance_type: job.instance_type,
            image: job.image,
            command: job.command
          })
        }
        onOpenJob={id => panel.showDetail(id)}
        onOpenPath={path => panel.openPath(path)}
        onOpenSchedule={id => panel.showSchedule(id)}
      />
    );
  } else {
    content = (
      <JobList
        model={model}
        onOpen={job => panel.showDetail(job.id)}
        onCreate={() => panel.showCreate()}
        onCancel={job => void panel.cancel(job)}
        onRerun={job => void panel.rerun(job)}
        onOpenSchedule={id => panel.showSchedule(id)}
      />
    );
  }
  const scheduleContent = scheduleView(panel, view);
  if (scheduleContent) {
    content = scheduleContent;
  }
  const onSchedules = view.kind.startsWith('schedule');
  return (
    <div className="jp-Jobs-content" data-view={view.kind}>
      <div className="jp-Jobs-title">
        <jobsIcon.react tag="span" className="jp-Jobs-titleIcon" />
        <span>Jobs</span>
        <span className="jp-Jobs-viewTabs" role="tablist">
          <button
            role="tab"
            aria-selected={!onSchedules}
            className="jp-Jobs-viewTab"
            onClick={() => panel.showList()}
          >
            Jobs
          </button>
          <button
            role="tab"
            aria-selected={onSchedules}
            className="jp-Jobs-viewTab"
            onClick={() => panel.showSchedules()}
          >
            Schedules
          </button>
        </span>
        {model.options && (
          <span className="jp-Jobs-user" title="You">
            {model.options.user}
          </span>
        )}
      </div>
      {content}
    </div>
  );
}

/** The Schedules views; null for the job views. */
function scheduleView(panel: JobsPanel, view: JobsView): JSX.Element | null {
  const options = panel.model.options;
  const actions = {
    api: panel.schedulesApi,
    user: options?.user ?? '',
    onOpenJob: (job: IJob) => panel.showDetail(job.id),
    onEdit: (schedule: ISchedule) => panel.showScheduleForm({ schedule }),
    onDeleted: () => panel.showSchedules(),
    onChanged: () => void panel.model.refresh()
  };
  switch (view.kind) {
    case 'schedules':
      return (
        <ScheduleList
          {...actions}
          options={options}
          onOpen={schedule => panel.showSchedule(schedule.id)}
          onCreate={() => panel.showScheduleForm()}
        />
      );
    case 'schedule-detail':
      return (
        <ScheduleDetail
          key={view.id}
          {...actions}
          scheduleId={view.id}
          onBack={() => panel.showSchedules()}
        />
      );
    case 'schedule-create':
    case 'schedule-edit':
      return (
        <ScheduleForm
          api={panel.schedulesApi}
          options={options}
          schedule={view.kind === 'schedule-edit' ? view.schedule : undefined}
          initialJob={
            view.kind === 'schedule-create' ? view.initialJob : undefined
          }
          onSaved={schedule => panel.showSchedule(schedule.id)}
          onCancel={() => panel.showSchedules()}
        />
      );
    default:
      return null;
  }
}
