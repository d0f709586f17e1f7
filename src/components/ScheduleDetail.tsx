import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IJob } from '../api';
import { absoluteTime } from '../format';
import { IScheduleRun, scheduleState, stateLabel } from '../schedules/api';
import { BackHeader, DetailPlaceholder } from './DetailPlaceholder';
import { usePolled } from './hooks';
import {
  IScheduleActions,
  NextRun,
  ScheduleButtons,
  zoneTime
} from './ScheduleParts';
import { StatusBadge } from './StatusBadge';

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
    <BackHeader
      label={trans.__('Schedules')}
      title={trans.__('Back to the schedules')}
      onBack={props.onBack}
    />
  );
  if (schedule.notFound || !s) {
    return (
      <DetailPlaceholder
        header={header}
        notFound={schedule.notFound}
        notFoundText={trans.__(
          'This schedule does not exist (it may have been deleted; its jobs stay in the job list), or belongs to a group you are not a member of.'
        )}
        error={schedule.error}
        loadingText={trans.__('Loading…')}
      />
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
              <span className="jp-Jobs-hint">{zoneTime(run, s.timezone)}</span>
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
              <StatusBadge
                status={run.job.status}
                message={run.job.message}
                trans={trans}
              />
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
