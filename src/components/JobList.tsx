import {
  addIcon,
  Button,
  HTMLSelect,
  InputGroup,
  IOptionProps,
  refreshIcon
} from '@jupyterlab/ui-components';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { ACTIVE_STATUSES, FINAL_STATUSES, STATUSES } from '../api';
import { JobsModel } from '../model';
import { groupChoices, groupDisplayName } from './FormParts';
import { useNow, useSignal, useSize } from './hooks';
import { IconButton } from './IconButton';
import { IJobRowActions, JobRow } from './JobRow';
import { statusLabel } from './StatusBadge';
import { slot, withNodes } from './translated';

export interface IJobListProps extends IJobRowActions {
  model: JobsModel;
  onCreate: () => void;
}

/** Below this width the list shows two-line rows instead of a table. */
const WIDE_MIN_WIDTH = 640;
const WIDE_ROW_HEIGHT = 36;
const COMPACT_ROW_HEIGHT = 52;
/** Rows rendered above and below the visible ones. */
const OVERSCAN = 8;
/** Start loading the next page this many rows before the end. */
const LOAD_AHEAD = 20;

interface IStatusFilter {
  label: string;
  value: string;
  statuses: string[];
}

function statusFilters(trans: TranslationBundle): IStatusFilter[] {
  return [
    { label: trans.__('All statuses'), value: '', statuses: [] },
    {
      label: trans.__('Active'),
      value: 'active',
      statuses: [...ACTIVE_STATUSES]
    },
    {
      label: trans.__('Finished'),
      value: 'final',
      statuses: [...FINAL_STATUSES]
    },
    ...STATUSES.map(s => ({
      label: statusLabel(s, trans),
      value: s,
      statuses: [s]
    }))
  ];
}

function statusFilterValue(
  filters: IStatusFilter[],
  statuses: string[]
): string {
  const key = [...statuses].sort().join(',');
  const match = filters.find(f => [...f.statuses].sort().join(',') === key);
  return match ? match.value : '';
}

/** A labelled drop-down of the filter bar. */
function FilterSelect(props: {
  label: string;
  className: string;
  value: string;
  onChange: (value: string) => void;
  options: IOptionProps[];
}): JSX.Element {
  return (
    <label className="jp-Jobs-filter">
      <span>{props.label}</span>
      <HTMLSelect
        className={props.className}
        value={props.value}
        onChange={e => props.onChange(e.currentTarget.value)}
        options={props.options}
      />
    </label>
  );
}

/** The job list: toolbar, filters, and a windowed, infinitely scrolling table. */
export function JobList(props: IJobListProps): JSX.Element {
  const { model, trans } = props;
  useSignal(model.changed);
  const now = useNow(1000);
  const filters = model.filters;
  const statusChoices = statusFilters(trans);
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
        groupLabel={groupDisplayName(options, job.group)}
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
        <IconButton
          icon={addIcon}
          label={trans.__('Create Job')}
          className="jp-Jobs-createButton jp-mod-styled jp-mod-accept"
          onClick={() => props.onCreate()}
          title={trans.__(
            'Create a job that runs a command for one of your groups'
          )}
        />
        <IconButton
          icon={refreshIcon}
          label={trans.__('Refresh')}
          minimal
          className="jp-Jobs-refreshButton"
          onClick={() => void model.refreshNow().catch(() => undefined)}
          title={trans.__('Refresh the list')}
          aria-label={trans.__('Refresh')}
        />
      </div>
      <div className="jp-Jobs-filters">
        <FilterSelect
          label={trans.__('Group')}
          className="jp-Jobs-groupFilter"
          value={filters.group}
          onChange={group => model.setFilters({ group })}
          options={[
            { label: trans.__('All my groups'), value: '' },
            ...groupChoices(options)
          ]}
        />
        <FilterSelect
          label={trans.__('Status')}
          className="jp-Jobs-statusFilter"
          value={statusFilterValue(statusChoices, filters.statuses)}
          onChange={value => {
            const choice = statusChoices.find(f => f.value === value);
            model.setFilters({ statuses: choice ? [...choice.statuses] : [] });
          }}
          options={statusChoices.map(f => ({ label: f.label, value: f.value }))}
        />
        <label className="jp-Jobs-filter jp-Jobs-searchFilter">
          <span>{trans.__('Name')}</span>
          <InputGroup
            className="jp-Jobs-search"
            type="search"
            placeholder={trans.__('Search job names')}
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
          {trans.__('Submitted by me')}
        </label>
      </div>
      {model.error !== null && (
        <div
          className={`jp-Jobs-banner ${model.unreachable ? 'jp-Jobs-banner-offline' : 'jp-Jobs-banner-error'}`}
          role="alert"
        >
          {model.unreachable
            ? trans.__(
                'Cannot reach the Jupyter server. Retrying; the list may be out of date.'
              )
            : model.error}
        </div>
      )}
      <div className="jp-Jobs-table" role="table" aria-label={trans.__('Jobs')}>
        {wide && (
          <div className="jp-Jobs-row jp-Jobs-header" role="row">
            <span role="columnheader">{trans.__('Status')}</span>
            <span role="columnheader">{trans.__('Job name')}</span>
            <span role="columnheader">{trans.__('Schedule')}</span>
            <span role="columnheader">{trans.__('User')}</span>
            <span role="columnheader">{trans.__('Group')}</span>
            <span role="columnheader">{trans.__('Timing')}</span>
            <span role="columnheader">{trans.__('Action')}</span>
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
                  <p>{trans.__('No jobs match these filters.')}</p>
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
                    {trans.__('Clear filters')}
                  </Button>
                </>
              ) : (
                <>
                  <p className="jp-Jobs-emptyTitle">
                    {trans.__('No jobs yet')}
                  </p>
                  <p>
                    {withNodes(
                      trans.__(
                        "A job runs a command or a notebook in the background for one of your groups, even after you close JupyterLab. Click %1 to run a command, or use %2 on a notebook's toolbar.",
                        slot(0),
                        slot(1)
                      ),
                      <strong>{trans.__('Create Job')}</strong>,
                      <strong>{trans.__('Submit notebook as job')}</strong>
                    )}
                  </p>
                  <p>
                    {withNodes(
                      trans.__(
                        "Outputs written to the group's directory (%1 in the job's working directory) are kept; the rest of the working directory is removed when the job ends.",
                        slot(0)
                      ),
                      <code>&lt;group&gt;/</code>
                    )}
                  </p>
                </>
              )}
            </div>
          )}
          {(model.loading || model.loadingMore) && (
            <div className="jp-Jobs-loading">{trans.__('Loading jobs…')}</div>
          )}
        </div>
      </div>
    </div>
  );
}
