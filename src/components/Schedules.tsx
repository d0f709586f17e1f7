import { Notification } from '@jupyterlab/apputils';
import {
  addIcon,
  Button,
  caretLeftIcon,
  HTMLSelect,
  InputGroup,
  refreshIcon
} from '@jupyterlab/ui-components';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { errorMessage, IJob, IOptions, JobsAPIError } from '../api';
import { absoluteTime } from '../format';
import {
  ISchedule,
  IScheduleRun,
  SchedulesAPI,
  scheduleState,
  stateLabel,
  untilText
} from '../schedules/api';
import { StatusBadge } from './StatusBadge';

const POLL_MS = 10000;

/** Load `load()` now and every POLL_MS while mounted; `reload` asks again at once. */
function usePolled<T>(
  load: () => Promise<T>,
  deps: React.DependencyList,
  trans: TranslationBundle
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
            setError(errorMessage(e, trans));
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
  trans: TranslationBundle;
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
  const title = props.trans.__(
    '%1 (%2)\n%3 (your time)',
    inZone,
    props.timezone,
    absoluteTime(props.iso)
  );
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
  trans: TranslationBundle;
}

/** Run `work`; on failure say `failed` (with a %1 for the reason) and return null. */
async function act<T>(
  failed: string,
  work: () => Promise<T>,
  trans: TranslationBundle
): Promise<T | null> {
  try {
    return await work();
  } catch (error) {
    Notification.error(failed.replace('%1', errorMessage(error, trans)), {
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
  const trans = actions.trans;
  const owner = schedule.user === actions.user;
  const runNow = async () => {
    const job = await act(
      trans.__('Could not run the schedule: %1'),
      () => actions.api.runNow(schedule.id),
      trans
    );
    if (job) {
      Notification.info(trans.__('Started "%1"', job.name), {
        autoClose: 5000,
        actions: [
          {
            label: trans.__('Show job'),
            callback: () => actions.onOpenJob(job)
          }
        ]
      });
      actions.onChanged();
    }
  };
  const toggle = async () => {
    if (
      await act(
        schedule.enabled
          ? trans.__('Could not pause: %1')
          : trans.__('Could not resume: %1'),
        () => actions.api.setEnabled(schedule.id, !schedule.enabled),
        trans
      )
    ) {
      actions.onChanged();
    }
  };
  const remove = async () => {
    if (
      !window.confirm(
        trans.__(
          'Delete the schedule "%1"? Its jobs stay in the job list.',
          schedule.name
        )
      )
    ) {
      return;
    }
    const deleted = await act(
      trans.__('Could not delete: %1'),
      async () => {
        await actions.api.remove(schedule.id);
        return true;
      },
      trans
    );
    if (deleted) {
      actions.onDeleted();
    }
  };
  const notOwner = owner
    ? undefined
    : trans.__('Only %1 may change it', schedule.user);
  return (
    <span className="jp-Jobs-scheduleActions">
      <Button small minimal onClick={runNow} title={trans.__('Run it now')}>
        {trans.__('Run now')}
      </Button>
      <Button
        small
        minimal
        disabled={!owner}
        onClick={toggle}
        title={
          notOwner ??
          (schedule.enabled ? trans.__('Pause') : trans.__('Resume'))
        }
      >
        {schedule.enabled ? trans.__('Pause') : trans.__('Resume')}
      </Button>
      <Button
        small
        minimal
        disabled={!owner}
        onClick={() => actions.onEdit(schedule)}
        title={notOwner ?? trans.__('Edit')}
      >
        {trans.__('Edit')}
      </Button>
      <Button
        small
        minimal
        disabled={!owner}
        onClick={remove}
        title={notOwner ?? trans.__('Delete (its jobs stay)')}
      >
        {trans.__('Delete')}
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
  const { trans } = props;
  const { value, error, reload } = usePolled(
    () => props.api.list({ group, mine, q }),
    [group, mine, q],
    trans
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
          {trans.__('Create Schedule')}
        </Button>
        <Button small minimal onClick={reload} title={trans.__('Refresh')}>
          <refreshIcon.react tag="span" className="jp-Jobs-buttonIcon" />
        </Button>
      </div>
      <div className="jp-Jobs-filters">
        <HTMLSelect
          aria-label={trans.__('Group')}
          value={group}
          onChange={e => setGroup(e.currentTarget.value)}
          options={[
            { label: trans.__('All my groups'), value: '' },
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
          {trans.__('Mine')}
        </label>
        <InputGroup
          aria-label={trans.__('Search schedules')}
          placeholder={trans.__('Search by name')}
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
          {trans.__(
            'No schedules yet. A schedule runs a job again and again, e.g. every weekday at 04:00.'
          )}
        </p>
      )}
      <ul className="jp-Jobs-schedules" aria-label={trans.__('Schedules')}>
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
                className={`jp-Jobs-scheduleState jp-mod-${scheduleState(schedule)}`}
                title={schedule.invalid_reason ?? ''}
              >
                {stateLabel(scheduleState(schedule), trans)}
              </span>
            </div>
            <div
              className="jp-Jobs-scheduleLine"
              title={trans.__('%1 (%2)', schedule.cron, schedule.timezone)}
            >
              {schedule.description} ({schedule.timezone})
            </div>
            <div className="jp-Jobs-scheduleLine jp-Jobs-compactMeta">
              <span title={trans.__('Next run')}>
                {trans.__('Next:')}{' '}
                <NextRun
                  iso={schedule.next_run_at}
                  timezone={schedule.timezone}
                  trans={trans}
                />
              </span>
              <span title={trans.__('Last run')}>
                {trans.__('Last:')}{' '}
                {schedule.last_run ? (
                  <StatusBadge
                    status={schedule.last_run.status}
                    trans={trans}
                  />
                ) : (
                  '-'
                )}
              </span>
              <span title={trans.__('Group')}>{schedule.group}</span>
              <span title={trans.__('Owner')}>{schedule.user}</span>
            </div>
            <ScheduleButtons schedule={schedule} actions={actions} />
          </li>
        ))}
      </ul>
    </div>
  );
}

function runLabel(run: IScheduleRun, trans: TranslationBundle): string {
  if (run.job) {
    return run.job.trigger === 'schedule'
      ? trans.__('Scheduled run')
      : trans.__('Run now');
  }
  switch (run.reason) {
    case 'overlap':
      return trans.__('Skipped: the previous run was still active');
    case 'missed':
      return trans.__('Missed: no server could start it in time');
    default:
      return trans.__('Skipped: it could not run');
  }
}

export interface IScheduleDetailProps extends IScheduleActions {
  scheduleId: string;
  onBack: () => void;
}

/** A schedule's page: settings, upcoming runs, history, actions. */
export function ScheduleDetail(props: IScheduleDetailProps): JSX.Element {
  const { api, scheduleId, trans } = props;
  const schedule = usePolled(() => api.get(scheduleId), [scheduleId], trans);
  const runs = usePolled(() => api.runs(scheduleId), [scheduleId], trans);
  const s = schedule.value;
  const upcoming = usePolled(
    () =>
      s && s.enabled
        ? api.preview(s.cron, s.timezone, 5)
        : Promise.resolve(null),
    [s?.cron, s?.timezone, s?.enabled],
    trans
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
        title={trans.__('Back to the schedules')}
      >
        <caretLeftIcon.react tag="span" className="jp-Jobs-buttonIcon" />
        {trans.__('Schedules')}
      </Button>
    </div>
  );
  if (schedule.notFound) {
    return (
      <div className="jp-Jobs-detail">
        {header}
        <p className="jp-Jobs-empty">
          {trans.__(
            'This schedule does not exist (it may have been deleted; its jobs stay in the job list), or belongs to a group you are not a member of.'
          )}
        </p>
      </div>
    );
  }
  if (!s) {
    return (
      <div className="jp-Jobs-detail">
        {header}
        <div className="jp-Jobs-loading">
          {schedule.error ?? trans.__('Loading…')}
        </div>
      </div>
    );
  }
  const rows: [string, React.ReactNode][] = [
    [trans.__('State'), stateLabel(scheduleState(s), trans)],
    [trans.__('Recurrence'), trans.__('%1 (%2)', s.description, s.timezone)],
    [trans.__('Cron'), <code>{s.cron}</code>],
    [
      trans.__('Next run'),
      <NextRun iso={s.next_run_at} timezone={s.timezone} trans={trans} />
    ],
    [trans.__('Group'), s.group],
    [trans.__('Owner'), s.user],
    [trans.__('Instance type'), s.job.instance_type],
    [trans.__('Image'), s.job.image],
    [
      s.job.notebook ? trans.__('Notebook') : trans.__('Command'),
      <code>{s.job.notebook ?? s.job.command}</code>
    ],
    [trans.__('While a run is active'), s.concurrency_policy],
    [trans.__('Missed runs'), s.misfire_policy],
    [trans.__('Start'), absoluteTime(s.start_at)],
    [trans.__('End'), absoluteTime(s.end_at)]
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
          {trans.__('The last tick could not run: %1', s.invalid_reason)}
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
      <h3>{trans.__('Upcoming runs')}</h3>
      {upcoming.value ? (
        <ol className="jp-Jobs-nextRuns">
          {upcoming.value.next_runs.map(run => (
            <li key={run}>
              <NextRun iso={run} timezone={s.timezone} trans={trans} />{' '}
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
        <p className="jp-Jobs-hint">{trans.__('None while paused.')}</p>
      )}
      <h3>{trans.__('History')}</h3>
      {runs.value && runs.value.runs.length === 0 && (
        <p className="jp-Jobs-hint">{trans.__('No runs yet.')}</p>
      )}
      <ul className="jp-Jobs-history">
        {runs.value?.runs.map((run, index) => (
          <li key={run.job?.id ?? `${run.scheduled_for}-${index}`}>
            {run.job ? (
              <StatusBadge status={run.job.status} trans={trans} />
            ) : (
              <span className="jp-Jobs-skipped">{trans.__('Skipped')}</span>
            )}{' '}
            <span>{runLabel(run, trans)}</span>{' '}
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
