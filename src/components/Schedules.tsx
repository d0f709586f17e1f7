import {
  addIcon,
  HTMLSelect,
  InputGroup,
  refreshIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { IOptions } from '../api';
import { ISchedule, scheduleState, stateLabel } from '../schedules/api';
import { groupChoices } from './FormParts';
import { usePolled } from './hooks';
import { IconButton } from './IconButton';
import { IScheduleActions, NextRun, ScheduleButtons } from './ScheduleParts';
import { StatusBadge } from './StatusBadge';

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
        <IconButton
          icon={addIcon}
          label={trans.__('Create Schedule')}
          small
          className="jp-Jobs-create"
          onClick={() => props.onCreate()}
        />
        <IconButton
          icon={refreshIcon}
          small
          minimal
          onClick={reload}
          title={trans.__('Refresh')}
        />
      </div>
      <div className="jp-Jobs-filters">
        <HTMLSelect
          aria-label={trans.__('Group')}
          value={group}
          onChange={e => setGroup(e.currentTarget.value)}
          options={[
            { label: trans.__('All my groups'), value: '' },
            ...groupChoices(props.options)
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
