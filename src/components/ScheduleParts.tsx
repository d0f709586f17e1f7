import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { errorMessage, IJob } from '../api';
import { absoluteTime } from '../format';
import { ISchedule, SchedulesAPI, untilText } from '../schedules/api';

/** A time as it reads in `timezone` ("Jan 5, 2030, 9:00 AM"). */
export function zoneTime(iso: string, timezone: string): string {
  return new Date(iso).toLocaleString(undefined, {
    timeZone: timezone,
    dateStyle: 'medium',
    timeStyle: 'short'
  });
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
  const inZone = zoneTime(props.iso, props.timezone);
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

export function ScheduleButtons(props: {
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
