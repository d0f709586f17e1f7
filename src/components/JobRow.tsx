import { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IJob, isFinal } from '../api';
import {
  absoluteTime,
  formatDuration,
  liveDuration,
  relativeTime
} from '../format';
import { StatusBadge } from './StatusBadge';

/** What a row offers on its job. */
export interface IJobRowActions {
  trans: TranslationBundle;
  onOpen: (job: IJob) => void;
  onCancel: (job: IJob) => void;
  onRerun: (job: IJob) => void;
  /** Open the page of the schedule that started a job. */
  onOpenSchedule?: (scheduleId: string) => void;
}

export interface IJobRowProps extends IJobRowActions {
  index: number;
  job: IJob;
  /** The display name of the job's group. */
  groupLabel: string;
  top: number;
  height: number;
  wide: boolean;
  now: number;
  receivedAt: number;
}

/** A job of the list: a table row when wide, two lines when narrow. */
export function JobRow(props: IJobRowProps): JSX.Element {
  const { job, wide, trans } = props;
  const duration = formatDuration(
    liveDuration(job, props.receivedAt, props.now),
    trans
  );
  const started = job.started_at
    ? trans.__('started %1', relativeTime(job.started_at))
    : trans.__('submitted %1', relativeTime(job.created_at));
  const startedTitle = job.started_at
    ? trans.__('Started %1', absoluteTime(job.started_at))
    : trans.__('Submitted %1', absoluteTime(job.created_at));
  const name = (
    <button
      className="jp-Jobs-link jp-Jobs-name"
      title={job.name}
      onClick={() => props.onOpen(job)}
    >
      {job.name}
    </button>
  );
  // A finished job can be rerun, any other cancelled.
  const final = isFinal(job.status);
  const action = (
    <Button
      small
      minimal
      className={final ? 'jp-Jobs-rerun' : 'jp-Jobs-cancel'}
      title={
        final ? trans.__('Run this job again') : trans.__('Cancel this job')
      }
      onClick={() => (final ? props.onRerun(job) : props.onCancel(job))}
    >
      {final ? trans.__('Rerun') : trans.__('Cancel')}
    </Button>
  );
  const schedule = job.schedule ? job.schedule.name : '-';
  const scheduleLink =
    job.schedule && props.onOpenSchedule ? (
      <button
        className="jp-Jobs-link jp-Jobs-scheduleLink"
        title={trans.__('Schedule %1', schedule)}
        onClick={() => props.onOpenSchedule?.(job.schedule?.id ?? '')}
      >
        {schedule}
      </button>
    ) : (
      schedule
    );
  // The same row in both layouts: its place in the window and what the tests look up.
  const rowAttributes = {
    role: 'row',
    style: { top: props.top, height: props.height },
    'data-job-id': job.id,
    'data-index': props.index,
    'aria-rowindex': props.index + 1
  };
  if (wide) {
    return (
      <div className="jp-Jobs-row jp-Jobs-jobRow" {...rowAttributes}>
        <span role="cell">
          <StatusBadge
            status={job.status}
            message={job.message}
            trans={trans}
          />
        </span>
        <span role="cell" className="jp-Jobs-cellName">
          {name}
        </span>
        <span role="cell" title={schedule}>
          {scheduleLink}
        </span>
        <span role="cell" title={job.user}>
          {job.user}
        </span>
        <span role="cell" className="jp-Jobs-group" title={job.group}>
          {props.groupLabel}
        </span>
        <span role="cell" className="jp-Jobs-timing" title={startedTitle}>
          <span className="jp-Jobs-duration">{duration}</span>
          <span className="jp-Jobs-started">{started}</span>
        </span>
        <span role="cell">{action}</span>
      </div>
    );
  }
  return (
    <div className="jp-Jobs-compactRow jp-Jobs-jobRow" {...rowAttributes}>
      <div className="jp-Jobs-compactLine">
        <StatusBadge status={job.status} message={job.message} trans={trans} />
        {name}
        {action}
      </div>
      <div
        className="jp-Jobs-compactLine jp-Jobs-compactMeta"
        title={startedTitle}
      >
        <span title={trans.__('User')}>{job.user}</span>
        <span className="jp-Jobs-group" title={trans.__('Group %1', job.group)}>
          {props.groupLabel}
        </span>
        {job.schedule && (
          <span title={trans.__('Schedule')}>{scheduleLink}</span>
        )}
        <span className="jp-Jobs-duration" title={trans.__('Duration')}>
          {duration}
        </span>
        <span className="jp-Jobs-started">{started}</span>
      </div>
    </div>
  );
}
