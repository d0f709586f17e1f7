/**
 * What the Jobs panel shows: its title bar with the Jobs / Schedules tabs, and the view
 * the panel is on (job list, Create Job, job detail, or a Schedules view).
 */
import * as React from 'react';

import { IJob } from '../api';
import type { JobsPanel, JobsView } from '../panel';
import { ISchedule } from '../schedules/api';
import { CreateJobForm } from './CreateJobForm';
import { useSignal } from './hooks';
import { JobDetail } from './JobDetail';
import { JobList } from './JobList';
import { ScheduleForm } from './ScheduleForm';
import { ScheduleDetail } from './ScheduleDetail';
import { ScheduleList } from './Schedules';
import { jobsIcon } from '../icons';

export function PanelContent(props: { panel: JobsPanel }): JSX.Element {
  const { panel } = props;
  const { model, trans } = panel;
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
        trans={trans}
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
        trans={trans}
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
        onClone={job => panel.clone(job)}
        onOpenJob={id => panel.showDetail(id)}
        onOpenPath={path => panel.openPath(path)}
        onOpenSchedule={id => panel.showSchedule(id)}
      />
    );
  } else {
    content = (
      <JobList
        model={model}
        trans={trans}
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
        <span>{trans.__('Jobs')}</span>
        <span className="jp-Jobs-viewTabs" role="tablist">
          <button
            role="tab"
            aria-selected={!onSchedules}
            className="jp-Jobs-viewTab"
            onClick={() => panel.showList()}
          >
            {trans.__('Jobs')}
          </button>
          <button
            role="tab"
            aria-selected={onSchedules}
            className="jp-Jobs-viewTab"
            onClick={() => panel.showSchedules()}
          >
            {trans.__('Schedules')}
          </button>
        </span>
        {model.options && (
          <span className="jp-Jobs-user" title={trans.__('You')}>
            {model.options.user}
          </span>
        )}
      </div>
      {model.options?.default_setup && (
        <div className="jp-Jobs-defaultSetup" role="note">
          {trans.__(
            'Default setup: your own group, this machine, this Python environment.'
          )}{' '}
          <button
            className="jp-Jobs-link jp-Jobs-configurationDocs"
            onClick={() => panel.openConfigurationDocs()}
          >
            {trans.__('How to configure groups, instance types and images')}
          </button>
        </div>
      )}
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
    onChanged: () => void panel.model.refresh(),
    trans: panel.trans
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
          trans={panel.trans}
        />
      );
    default:
      return null;
  }
}
