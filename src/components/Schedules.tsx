import { Notification } from '@jupyterlab/apputils';
import {
  addIcon,
  Button,
  caretLeftIcon,
  HTMLSelect,
  InputGroup,
  refreshIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { errorMessage, IJob, IOptions, JobsAPIError } from '../api';
import { absoluteTime } from '../format';
import {
  ISchedule,
  IScheduleRun,
  SchedulesAPI,
  scheduleState,
  untilText
} from '../schedules/api';
import { StatusBadge } from './StatusBadge';

const POLL_MS = 10000;

/** Load `load()` now and every POLL_MS while mounted; `reload` asks again at once. */
function usePolled<T>(
  load: () => Promise<T>,
  deps: React.DependencyList
): {
  value: T | null;
  error: string | null;
  notFound: boolean;
  reload: () => void;
} {
  const [value, setValue] = React.useState<T | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [notFound, setNotFound] = React.useState(false);
  const [version, setVersion] = React.useState(0);
  React.useEffect(() => {
    let current = true;
    const fetch = () =>
      load().then(
        answer => {
          if (current) {
            setValue(answer);
            setError(null);
          }
        },
        e => {
          if (current) {
            setNotFound(e instanceof JobsAPIError && e.status === 404);
            setError(errorMessage(e));
          }
        }
      );
    void fetch();
    const timer = window.setInterval(() => {
      if (!document.hidden) {
        void fetch();
      }
    }, POLL_MS);
    return () => {
      current = false;
      window.clearInterval(timer);
    };
  }, [...deps, version]);
  return { value, error, notFound, reload: () => setVersion(v => v + 1) };
}

/** "in 5 minutes", with the exact time in the schedule's zone and the browser's. */
export function NextRun(props: {
  iso: string | null;
  timezone: string;
}): JSX.Element {
  if (!props.iso) {
    return <span>-</span>;
  }
  const date = new Date(props.iso);
  const inZone = date.toLocaleString(undefined, {
    timeZone: props.timezone,
    dateStyle: 'medium',
    timeStyle: 'short'
  });
  const title = `${inZone} (${props.timezone})\n${absoluteTime(props.iso)} (your time)`;
  return (
    <time dateTime={props.iso} title={title}>
      {untilText(props.iso)}
    </time>
  );
}

/** The actions on a schedule: members run it now; its owner pauses, edits, deletes. */
export interface IScheduleActions {
  api: SchedulesAPI;
  user: string;
  onOpenJob: (job: IJob) => void;
  onEdit: (schedule: ISchedule) => void;
  onDeleted: () => void;
  onChanged: () => void;
}

async function act<T>(what: string, work: () => Promise<T>): Promise<T | null> {
  try {
    return await work();
  } catch (error) {
    Notification.error(`Could not ${what}: ${errorMessage(error)}`, {
      autoClose: 8000
    });
    return null;
  }
}

function ScheduleButtons(props: {
  schedule: ISchedule;
  actions: IScheduleActions;
}): JSX.Element {
  const { schedule, actions } = props;
  const owner = schedule.user === actions.user;
  const runNow = async () => {
    const job = await act('run the schedule', () =>
      actions.api.runNow(schedule.id)
    );
    if (job) {
      Notification.info(`Started "${job.name}"`, {
        autoClose: 5000,
        actions: [{ label: 'Show job', callback: () => actions.onOpenJob(job) }]
      });
      actions.onChanged();
    }
  };
  const toggle = async () => {
    if (
      await act(schedule.enabled ? 'pause' : 'resume', () =>
        actions.api.setEnabled(schedule.id, !schedule.enabled)
      )
    ) {
      actions.onChanged();
    }
  };
  const remove = async () => {
    if (
      !window.confirm(
        `Delete the schedule "${schedule.name}"? Its jobs stay in the job list.`
      )
    ) {
      return;
    }
    if ((await act('delete', () => actions.api.remove(schedule.id))) !== null) {
      actions.onDeleted();
    }
  };
  const notOwner = owner ? undefined : `Only ${schedule.user} may change it`;
  return (
    <span className="jp-Jobs-scheduleActions">
      <Button small minimal onClick={runNow} title="Run it now">
        Run now
      </Button>
      <Button
        small
        minimal
        disabled={!owner}
        onClick={toggle}
        title={notOwner ?? (schedule.enabled ? 'Pause' : 'Resume')}
      >
        {schedule.enabled ? 'Pause' : 'Resume'}
      </Button>
      <Button
        small
        minimal
        disabled={!owner}
        onClick={() => actions.onEdit(schedule)}
        title={notOwner ?? 'Edit'}
      >
        Edit
      </Button>
      <Button
        small
        minimal
        disabled={!owner}
        onClick={remove}
        title={notOwner ?? 'Delete (its jobs stay)'}
      >
        Delete
      </Button>
    </span>
  );
}

export interface IScheduleListProps extends IScheduleActions {
  options: IOptions | null;
  onOpen: (schedule: ISchedule) => void;
  onCreate: () => void;
}

/** The Schedules view: every schedule of the user's groups, with filters. */
export function ScheduleList(props: IScheduleListProps): JSX.Element {
  const [group, setGroup] = React.useState('');
  const [mine, setMine] = React.useState(false);
  const [q, setQ] = React.useState('');
  const { value, error, reload } = usePolled(
    () => props.api.list({ group, mine, q }),
    [group, mine, q]
  );
  const actions = { ...props, onChanged: reload, onDeleted: reload };
  return (
    <div className="jp-Jobs-scheduleList">
      <div className="jp-Jobs-toolbar">
        <Button
          small
          className="jp-Jobs-create"
          onClick={() => props.onCreate()}
        >
          <addIcon.react tag="span" className="jp-Jobs-buttonIcon" />
          Create Schedule
        </Button>
        <Button small minimal onClick={reload} title="Refresh">
          <refreshIcon.react tag="span" className="jp-Jobs-buttonIcon" />
        </Button>
      </div>
      <div className="jp-Jobs-filters">
        <HTMLSelect
          aria-label="Group"
          value={group}
          onChange={e => setGroup(e.currentTarget.value)}
          options={[
            { label: 'All my groups', value: '' },
            ...(props.options?.groups ?? []).map(g => ({
              label: g.display_name || g.name,
              value: g.name
            }))
          ]}
        />
        <label className="jp-Jobs-mine">
          <input
            type="checkbox"
            checked={mine}
            onChange={e => setMine(e.currentTarget.checked)}
          />
          Mine
        </label>
        <InputGroup
          aria-label="Search schedules"
          placeholder="Search by name"
          value={q}
          onChange={e => setQ(e.currentTarget.value)}
        />
      </div>
      {error && (
        <div className="jp-Jobs-banner jp-Jobs-banner-error" role="alert">
          {error}
        </div>
      )}
      {value && value.schedules.length === 0 && (
        <p className="jp-Jobs-empty">
          No schedules yet. A schedule runs a job again and again, e.g. every
          weekday at 04:00.
        </p>
      )}
      <ul className="jp-Jobs-schedules" aria-label="Schedules">
        {value?.schedules.map(schedule => (
          <li
            key={schedule.id}
            className="jp-Jobs-scheduleRow"
            data-schedule-id={schedule.id}
          >
            <div className="jp-Jobs-scheduleLine">
              <a
                href="#"
                className="jp-Jobs-link jp-Jobs-scheduleName"
                onClick={e => {
                  e.preventDefault();
                  props.onOpen(schedule);
                }}
              >
                {schedule.name}
              </a>
              <span
                className={`jp-Jobs-scheduleState jp-mod-${scheduleState(schedule).toLowerCase()}`}
                title={schedule.invalid_reason ?? ''}
              >
                {scheduleState(schedule)}
              </span>
            </div>
            <div
              className="jp-Jobs-scheduleLine"
              title={`${schedule.cron} (${schedule.timezone})`}
            >
              {schedule.description} ({schedule.timezone})
            </div>
            <div className="jp-Jobs-scheduleLine jp-Jobs-compactMeta">
              <span title="Next run">
                Next:{' '}
                <NextRun
                  iso={schedule.next_run_at}
                  timezone={schedule.timezone}
                />
              </span>
              <span title="Last run">
                Last:{' '}
                {schedule.last_run ? (
                  <StatusBadge status={schedule.last_run.status} />
                ) : (
                  '-'
                )}
              </span>
              <span title="Group">{schedule.group}</span>
              <span title="Owner">{schedule.user}</span>
            </div>
            <ScheduleButtons schedule={schedule} actions={actions} />
          </li>
        ))}
      </ul>
    </div>
  );
}

function runLabel(run: IScheduleRun): string {
  if (run.job) {
    return run.job.trigger === 'schedule' ? 'Scheduled run' : 'Run now';
  }
  return `Skipped (${run.reason})`;
}

export interface IScheduleDetailProps extends IScheduleActions {
  scheduleId: string;
  onBack: () => void;
}

/** A schedule's page: settings, upcoming runs, history, actions. */
export function ScheduleDetail(props: IScheduleDetailProps): JSX.Element {
  const { api, scheduleId } = props;
  const schedule = usePolled(() => api.get(scheduleId), [scheduleId]);
  const runs = usePolled(() => api.runs(scheduleId), [scheduleId]);
  const s = schedule.value;
  const upcoming = usePolled(
    () =>
      s && s.enabled
        ? api.preview(s.cron, s.timezone, 5)
        : Promise.resolve(null),
    [s?.cron, s?.timezone, s?.enabled]
  );
  const reload = () => {
    schedule.reload();
    runs.reload();
  };
  const header = (
    <div className="jp-Jobs-detailHeader">
      <Button
        minimal
        small
        className="jp-Jobs-back"
        onClick={() => props.onBack()}
        title="Back to the schedules"
      >
        <caretLeftIcon.react tag="span" className="jp-Jobs-buttonIcon" />
        Schedules
      </Button>
    </div>
  );
  if (schedule.notFound) {
    return (
      <div className="jp-Jobs-detail">
        {header}
        <p className="jp-Jobs-empty">
          This schedule does not exist (it may have been deleted; its jobs stay
          in the job list), or belongs to a group you are not a member of.
        </p>
      </div>
    );
  }
  if (!s) {
    return (
      <div className="jp-Jobs-detail">
        {header}
        <div className="jp-Jobs-loading">{schedule.error ?? 'Loading…'}</div>
      </div>
    );
  }
  const rows: [string, React.ReactNode][] = [
    ['State', scheduleState(s)],
    ['Recurrence', `${s.description} (${s.timezone})`],
    ['Cron', <code>{s.cron}</code>],
    ['Next run', <NextRun iso={s.next_run_at} timezone={s.timezone} />],
    ['Group', s.group],
    ['Owner', s.user],
    ['Instance type', s.job.instance_type],
    ['Image', s.job.image],
    [
      s.job.notebook ? 'Notebook' : 'Command',
      <code>{s.job.notebook ?? s.job.command}</code>
    ],
    ['While a run is active', s.concurrency_policy],
    ['Missed runs', s.misfire_policy],
    ['Start', absoluteTime(s.start_at)],
    ['End', absoluteTime(s.end_at)]
  ];
  return (
    <div className="jp-Jobs-detail jp-Jobs-scheduleDetail">
      {header}
      <h2 className="jp-Jobs-formTitle">{s.name}</h2>
      <ScheduleButtons
        schedule={s}
        actions={{ ...props, onChanged: reload, onDeleted: props.onBack }}
      />
      {s.invalid_reason && (
        <div className="jp-Jobs-banner jp-Jobs-banner-error" role="alert">
          The last tick could not run: {s.invalid_reason}
        </div>
      )}
      <dl className="jp-Jobs-fields">
        {rows.map(([label, value]) => (
          <React.Fragment key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </React.Fragment>
        ))}
      </dl>
      <h3>Upcoming runs</h3>
      {upcoming.value ? (
        <ol className="jp-Jobs-nextRuns">
          {upcoming.value.next_runs.map(run => (
            <li key={run}>
              <NextRun iso={run} timezone={s.timezone} />{' '}
              <span className="jp-Jobs-hint">
                {new Date(run).toLocaleString(undefined, {
                  timeZone: s.timezone,
                  dateStyle: 'medium',
                  timeStyle: 'short'
                })}
              </span>
            </li>
          ))}
        </ol>
      ) : (
        <p className="jp-Jobs-hint">None while paused.</p>
      )}
      <h3>History</h3>
      {runs.value && runs.value.runs.length === 0 && (
        <p className="jp-Jobs-hint">No runs yet.</p>
      )}
      <ul className="jp-Jobs-history">
        {runs.value?.runs.map((run, index) => (
          <li key={run.job?.id ?? `${run.scheduled_for}-${index}`}>
            {run.job ? (
              <StatusBadge status={run.job.status} />
            ) : (
              <span className="jp-Jobs-skipped">Skipped</span>
            )}{' '}
            <span>{runLabel(run)}</span>{' '}
            <span className="jp-Jobs-hint" title={run.scheduled_for ?? ''}>
              {absoluteTime(run.scheduled_for ?? run.job?.created_at)}
            </span>{' '}
            {run.job ? (
              <a
                href="#"
                className="jp-Jobs-link"
                onClick={e => {
                  e.preventDefault();
                  props.onOpenJob(run.job as IJob);
                }}
              >
                {run.job.id}
              </a>
            ) : (
              <span className="jp-Jobs-hint">{run.message}</span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
