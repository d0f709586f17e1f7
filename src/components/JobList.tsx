import {
  addIcon,
  Button,
  HTMLSelect,
  InputGroup,
  refreshIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  ACTIVE_STATUSES,
  FINAL_STATUSES,
  IJob,
  isFinal,
  STATUSES
} from '../api';
import {
  absoluteTime,
  formatDuration,
  liveDuration,
  relativeTime
} from '../format';
import { JobsModel } from '../model';
import { useNow, useSignal, useSize } from './hooks';
import { StatusBadge } from './StatusBadge';

export interface IJobListProps {
  model: JobsModel;
  onOpen: (job: IJob) => void;
  onCreate: () => void;
  onCancel: (job: IJob) => void;
  onRerun: (job: IJob) => void;
  /** Open the page of the schedule that started a job. */
  onOpenSchedule?: (scheduleId: string) => void;
}

/** Below this width the list shows two-line rows instead of a table. */
const WIDE_MIN_WIDTH = 640;
const WIDE_ROW_HEIGHT = 36;
const COMPACT_ROW_HEIGHT = 52;
/** Rows rendered above and below the visible ones. */
const OVERSCAN = 8;
/** Start loading the next page this many rows before the end. */
const LOAD_AHEAD = 20;

const STATUS_FILTERS: { label: string; value: string; statuses: string[] }[] = [
  { label: 'All statuses', value: '', statuses: [] },
  { label: 'Active', value: 'active', statuses: [...ACTIVE_STATUSES] },
  { label: 'Finished', value: 'final', statuses: [...FINAL_STATUSES] },
  ...STATUSES.map(s => ({ label: s, value: s, statuses: [s] }))
];

function statusFilterValue(statuses: string[]): string {
  const key = [...statuses].sort().join(',');
  const match = STATUS_FILTERS.find(
    f => [...f.statuses].sort().join(',') === key
  );
  return match ? match.value : '';
}

/** The job list: toolbar, filters, and a windowed, infinitely scrolling table. */
export function JobList(props: IJobListProps): JSX.Element {
  const { model } = props;
  useSignal(model.changed);
  const now = useNow(1000);
  const filters = model.filters;
  const options = model.options;

  const [search, setSearch] = React.useState(filters.q);
  React.useEffect(() => {
    if (search === model.filters.q) {
      return;
    }
    const timer = window.setTimeout(() => model.setFilters({ q: search }), 300);
    return () => window.clearTimeout(timer);
  }, [search]);

  const scroller = React.useRef<HTMLDivElement>(null);
  const size = useSize(scroller);
  const [scrollTop, setScrollTop] = React.useState(0);
  const wide = size.width >= WIDE_MIN_WIDTH;
  const rowHeight = wide ? WIDE_ROW_HEIGHT : COMPACT_ROW_HEIGHT;
  const jobs = model.jobs;

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const visibleCount = Math.ceil((size.height || 600) / rowHeight);
  const last = Math.min(jobs.length, first + visibleCount + 2 * OVERSCAN);

  React.useEffect(() => {
    if (
      model.hasMore &&
      !model.loadingMore &&
      last >= jobs.length - LOAD_AHEAD
    ) {
      void model.loadMore();
    }
  }, [last, jobs.length, model.hasMore, model.loadingMore]);

  const filtered =
    filters.group !== '' ||
    filters.mine ||
    filters.statuses.length > 0 ||
    filters.q.trim() !== '';

  const rows: JSX.Element[] = [];
  for (let index = first; index < last; index++) {
    const job = jobs[index];
    rows.push(
      <JobRow
        key={job.id}
        index={index}
        job={job}
        top={index * rowHeight}
        height={rowHeight}
        wide={wide}
        now={now}
        receivedAt={model.receivedAt(job.id)}
        {...props}
      />
    );
  }

  return (
    <div className="jp-Jobs-list">
      <div className="jp-Jobs-toolbar">
        <Button
          className="jp-Jobs-createButton jp-mod-styled jp-mod-accept"
          onClick={() => props.onCreate()}
          title="Create a job that runs a command for one of your groups"
        >
          <addIcon.react tag="span" className="jp-Jobs-buttonIcon" />
          Create Job
        </Button>
        <Button
          minimal
          className="jp-Jobs-refreshButton"
          onClick={() => void model.refreshNow().catch(() => undefined)}
          title="Refresh the list"
          aria-label="Refresh"
        >
          <refreshIcon.react tag="span" className="jp-Jobs-buttonIcon" />
          Refresh
        </Button>
      </div>
      <div className="jp-Jobs-filters">
        <label className="jp-Jobs-filter">
          <span>Group</span>
          <HTMLSelect
            className="jp-Jobs-groupFilter"
            value={filters.group}
            onChange={e => model.setFilters({ group: e.currentTarget.value })}
            options={[
              { label: 'All my groups', value: '' },
              ...(options?.groups ?? []).map(g => ({
                label: g.display_name || g.name,
                value: g.name
              }))
            ]}
          />
        </label>
        <label className="jp-Jobs-filter">
          <span>Status</span>
          <HTMLSelect
            className="jp-Jobs-statusFilter"
            value={statusFilterValue(filters.statuses)}
            onChange={e => {
              const value = e.currentTarget.value;
              const choice = STATUS_FILTERS.find(f => f.value === value);
              model.setFilters({
                statuses: choice ? [...choice.statuses] : []
              });
            }}
            options={STATUS_FILTERS.map(f => ({
              label: f.label,
              value: f.value
            }))}
          />
        </label>
        <label className="jp-Jobs-filter jp-Jobs-searchFilter">
          <span>Name</span>
          <InputGroup
            className="jp-Jobs-search"
            type="search"
            placeholder="Search job names"
            value={search}
            rightIcon="ui-components:search"
            onChange={e => setSearch(e.currentTarget.value)}
          />
        </label>
        <label className="jp-Jobs-mine">
          <input
            type="checkbox"
            className="jp-Jobs-mineFilter"
            checked={filters.mine}
            onChange={e => model.setFilters({ mine: e.currentTarget.checked })}
          />
          Submitted by me
        </label>
      </div>
      {model.error !== null && (
        <div
          className={`jp-Jobs-banner ${model.unreachable ? 'jp-Jobs-banner-offline' : 'jp-Jobs-banner-error'}`}
          role="alert"
        >
          {model.unreachable
            ? 'Cannot reach the Jupyter server. Retrying; the list may be out of date.'
            : model.error}
        </div>
      )}
      <div className="jp-Jobs-table" role="table" aria-label="Jobs">
        {wide && (
          <div className="jp-Jobs-row jp-Jobs-header" role="row">
            <span role="columnheader">Status</span>
            <span role="columnheader">Job name</span>
            <span role="columnheader">Schedule</span>
            <span role="columnheader">User</span>
            <span role="columnheader">Group</span>
            <span role="columnheader">Timing</span>
            <span role="columnheader">Action</span>
          </div>
        )}
        <div
          className="jp-Jobs-scroller"
          ref={scroller}
          onScroll={e => setScrollTop(e.currentTarget.scrollTop)}
        >
          <div
            className="jp-Jobs-rows"
            style={{ height: jobs.length * rowHeight }}
            role="rowgroup"
            data-count={jobs.length}
          >
            {rows}
          </div>
          {jobs.length === 0 && !model.loading && (
            <div className="jp-Jobs-empty">
              {filtered ? (
                <>
                  <p>No jobs match these filters.</p>
                  <Button
                    minimal
                    onClick={() => {
                      setSearch('');
                      model.setFilters({
                        group: '',
                        mine: false,
                        statuses: [],
                        q: ''
                      });
                    }}
                  >
                    Clear filters
                  </Button>
                </>
              ) : (
                <>
                  <p className="jp-Jobs-emptyTitle">No jobs yet</p>
                  <p>
                    A job runs a command or a notebook in the background for one
                    of your groups, even after you close JupyterLab. Click{' '}
                    <strong>Create Job</strong> to run a command, or use{' '}
                    <strong>Submit notebook as job</strong> on a notebook's
                    toolbar.
                  </p>
                  <p>
                    Outputs written to the group's directory (
                    <code>&lt;group&gt;/</code> in the job's working directory)
                    are kept; the rest of the working directory is removed when
                    the job ends.
                  </p>
                </>
              )}
            </div>
          )}
          {(model.loading || model.loadingMore) && (
            <div className="jp-Jobs-loading">Loading jobs…</div>
          )}
        </div>
      </div>
    </div>
  );
}

interface IJobRowProps extends IJobListProps {
  index: number;
  job: IJob;
  top: number;
  height: number;
  wide: boolean;
  now: number;
  receivedAt: number;
}

function JobRow(props: IJobRowProps): JSX.Element {
  const { job, wide } = props;
  const duration = formatDuration(
    liveDuration(job, props.receivedAt, props.now)
  );
  const started = job.started_at
    ? `started ${relativeTime(job.started_at)}`
    : `submitted ${relativeTime(job.created_at)}`;
  const startedTitle = job.started_at
    ? `Started ${absoluteTime(job.started_at)}`
    : `Submitted ${absoluteTime(job.created_at)}`;
  const name = (
    <button
      className="jp-Jobs-link jp-Jobs-name"
      title={job.name}
      onClick={() => props.onOpen(job)}
    >
      {job.name}
    </button>
  );
  const action = isFinal(job.status) ? (
    <Button
      small
      minimal
      className="jp-Jobs-rerun"
      title="Run this job again"
      onClick={() => props.onRerun(job)}
    >
      Rerun
    </Button>
  ) : (
    <Button
      small
      minimal
      className="jp-Jobs-cancel"
      title="Cancel this job"
      onClick={() => props.onCancel(job)}
    >
      Cancel
    </Button>
  );
  const schedule = job.schedule ? job.schedule.name : '-';
  const scheduleLink =
    job.schedule && props.onOpenSchedule ? (
      <button
        className="jp-Jobs-link jp-Jobs-scheduleLink"
        title={`Schedule ${schedule}`}
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
          <StatusBadge status={job.status} />
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
        <span role="cell" title={job.group}>
          {job.group}
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
        <StatusBadge status={job.status} />
        {name}
        {action}
      </div>
      <div
        className="jp-Jobs-compactLine jp-Jobs-compactMeta"
        title={startedTitle}
      >
        <span title="User">{job.user}</span>
        <span title="Group">{job.group}</span>
        {job.schedule && <span title="Schedule">{scheduleLink}</span>}
        <span className="jp-Jobs-duration" title="Duration">
          {duration}
        </span>
        <span className="jp-Jobs-started">{started}</span>
      </div>
    </div>
  );
}
