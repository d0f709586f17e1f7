import {
  Button,
  caretLeftIcon,
  HTMLSelect,
  InputGroup
} from '@jupyterlab/ui-components';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IJobRequest, IOptions, JobsAPIError } from '../api';
import {
  ConcurrencyPolicy,
  IPreview,
  ISchedule,
  IScheduleRequest,
  MisfirePolicy,
  SchedulesAPI
} from '../schedules/api';
import {
  cronFromPreset,
  parseTime,
  Preset,
  PRESET_KINDS,
  PresetKind,
  presetFromCron,
  presetLabel,
  switchPreset,
  timeText,
  weekdayNames
} from '../schedules/presets';
import { FieldErrors } from '../validation';
import {
  ChoiceFields,
  consistentChoices,
  FieldError,
  serverErrors
} from './CreateJobForm';

/** The browser's IANA zone: the default of a new schedule. */
export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The IANA zones the browser knows (for the picker), with `current` in any case. */
export function zoneChoices(current: string): string[] {
  const supported = (
    Intl as unknown as { supportedValuesOf?: (key: string) => string[] }
  ).supportedValuesOf;
  const zones = supported ? supported('timeZone') : [];
  return Array.from(new Set(['UTC', current, ...zones])).sort();
}

/** "2030-01-01T09:00" (a datetime-local value) <-> ISO UTC. */
function toLocalInput(iso: string | null): string {
  if (!iso) {
    return '';
  }
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function fromLocalInput(value: string): string | null {
  return value ? new Date(value).toISOString() : null;
}

export interface IScheduleFormProps {
  api: SchedulesAPI;
  options: IOptions | null;
  /** The schedule to edit; none: create one. */
  schedule?: ISchedule;
  /** A job to schedule (the Create Job form's "Run: on a schedule"). */
  initialJob?: Partial<IJobRequest>;
  onSaved: (schedule: ISchedule) => void;
  onCancel: () => void;
  trans: TranslationBundle;
}

/** Errors by field: the job's and the schedule's own. */
type ScheduleErrors = FieldErrors & Partial<Record<string, string>>;

const FIELDS = [
  'name',
  'group',
  'instance_type',
  'image',
  'command',
  'cron',
  'timezone',
  'start_at',
  'end_at',
  'job'
];

/** The Create/Edit Schedule form: presets or cron, zone, a live preview, Advanced. */
export function ScheduleForm(props: IScheduleFormProps): JSX.Element {
  const { options, schedule, api, trans } = props;
  const initialJob = props.initialJob ?? {};
  const [name, setName] = React.useState(
    schedule?.name ?? initialJob.name ?? ''
  );
  const [command, setCommand] = React.useState(
    schedule?.job.command ?? initialJob.command ?? ''
  );
  const [choices, setChoices] = React.useState(() => {
    const wanted = schedule
      ? { group: schedule.group, ...schedule.job }
      : initialJob;
    return options
      ? consistentChoices(options, wanted)
      : { group: '', instance_type: '', image: '' };
  });
  React.useEffect(() => {
    if (options && !choices.group) {
      setChoices(consistentChoices(options, schedule?.job ?? initialJob));
    }
  }, [options]);
  const [preset, setPreset] = React.useState<Preset>(() =>
    schedule
      ? presetFromCron(schedule.cron)
      : { kind: 'daily', hour: 9, minute: 0 }
  );
  const [timezone, setTimezone] = React.useState(
    schedule?.timezone ?? browserZone()
  );
  const [concurrency, setConcurrency] = React.useState<ConcurrencyPolicy>(
    schedule?.concurrency_policy ?? 'forbid'
  );
  const [misfire, setMisfire] = React.useState<MisfirePolicy>(
    schedule?.misfire_policy ?? 'run_once'
  );
  const [startAt, setStartAt] = React.useState(
    toLocalInput(schedule?.start_at ?? null)
  );
  const [endAt, setEndAt] = React.useState(
    toLocalInput(schedule?.end_at ?? null)
  );
  const [preview, setPreview] = React.useState<IPreview | null>(null);
  const [previewError, setPreviewError] = React.useState<string | null>(null);
  const [errors, setErrors] = React.useState<ScheduleErrors>({});
  const [formError, setFormError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const cron = cronFromPreset(preset);

  // The server is the single source of truth for when it runs: ask it as the user types.
  React.useEffect(() => {
    let current = true;
    const timer = window.setTimeout(() => {
      api.preview(cron, timezone).then(
        answer => {
          if (current) {
            setPreview(answer);
            setPreviewError(null);
          }
        },
        error => {
          if (current) {
            setPreview(null);
            setPreviewError(
              error instanceof JobsAPIError ? error.message : String(error)
            );
          }
        }
      );
    }, 250);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [cron, timezone]);

  if (!options) {
    return (
      <div className="jp-Jobs-form jp-Jobs-loading">
        {trans.__('Loading your groups…')}
      </div>
    );
  }

  const onSubmit = async (event: React.FormEvent) => {
    event.preventDefault();
    const request: IScheduleRequest = {
      name: name.trim(),
      group: choices.group,
      cron,
      timezone,
      job: {
        instance_type: choices.instance_type,
        image: choices.image,
        ...(schedule?.job.notebook || initialJob.notebook
          ? {
              notebook: schedule?.job.notebook ?? initialJob.notebook,
              parameters: schedule?.job.parameters ?? initialJob.parameters
            }
          : { command })
      },
      concurrency_policy: concurrency,
      misfire_policy: misfire,
      start_at: fromLocalInput(startAt),
      end_at: fromLocalInput(endAt)
    };
    setBusy(true);
    try {
      const saved = schedule
        ? await api.update(schedule.id, request)
        : await api.create(request);
      props.onSaved(saved);
    } catch (error) {
      const found = serverErrors(error, FIELDS, trans);
      setErrors(found.fields);
      setFormError(found.form);
    } finally {
      setBusy(false);
    }
  };

  const time =
    preset.kind !== 'custom' && preset.kind !== 'hourly'
      ? timeText(preset.hour, preset.minute)
      : '';
  const notebook = schedule?.job.notebook ?? initialJob.notebook;

  return (
    <form
      className="jp-Jobs-form jp-Jobs-scheduleForm"
      onSubmit={onSubmit}
      noValidate
    >
      <div className="jp-Jobs-detailHeader">
        <Button
          type="button"
          minimal
          small
          className="jp-Jobs-back"
          onClick={() => props.onCancel()}
          title={trans.__('Back without saving')}
        >
          <caretLeftIcon.react tag="span" className="jp-Jobs-buttonIcon" />
          {trans.__('Schedules')}
        </Button>
      </div>
      <h2 className="jp-Jobs-formTitle">
        {schedule ? trans.__('Edit Schedule') : trans.__('Create Schedule')}
      </h2>
      <div className="jp-Jobs-field">
        <label htmlFor="jp-Jobs-schedule-name">{trans.__('Name')}</label>
        <InputGroup
          id="jp-Jobs-schedule-name"
          name="name"
          value={name}
          onChange={e => setName(e.currentTarget.value)}
          placeholder={trans.__('e.g. nightly report')}
        />
        <FieldError field="name" error={errors.name} />
      </div>
      <ChoiceFields
        options={options}
        value={choices}
        errors={errors}
        onChange={setChoices}
        idPrefix="jp-Jobs-schedule"
        trans={trans}
      />
      {notebook ? (
        <div className="jp-Jobs-field">
          <label>{trans.__('Notebook')}</label>
          <code>{notebook}</code>
        </div>
      ) : (
        <div className="jp-Jobs-field">
          <label htmlFor="jp-Jobs-schedule-command">
            {trans.__('Command')}
          </label>
          <textarea
            id="jp-Jobs-schedule-command"
            name="command"
            className="jp-Jobs-command"
            value={command}
            onChange={e => setCommand(e.currentTarget.value)}
            rows={3}
          />
          <FieldError field="command" error={errors.command} />
        </div>
      )}
      <fieldset className="jp-Jobs-recurrence">
        <legend>{trans.__('Recurrence')}</legend>
        <div className="jp-Jobs-field">
          <label htmlFor="jp-Jobs-schedule-preset">{trans.__('Repeat')}</label>
          <HTMLSelect
            id="jp-Jobs-schedule-preset"
            name="preset"
            value={preset.kind}
            onChange={e =>
              setPreset(
                switchPreset(preset, e.currentTarget.value as PresetKind)
              )
            }
            options={PRESET_KINDS.map(kind => ({
              label: presetLabel(kind, trans),
              value: kind
            }))}
          />
        </div>
        {preset.kind === 'hourly' && (
          <div className="jp-Jobs-field">
            <label htmlFor="jp-Jobs-schedule-minute">
              {trans.__('At minute')}
            </label>
            <InputGroup
              id="jp-Jobs-schedule-minute"
              name="minute"
              type="number"
              min={0}
              max={59}
              value={String(preset.minute)}
              onChange={e => {
                const minute = Number(e.currentTarget.value);
                if (Number.isInteger(minute) && minute >= 0 && minute <= 59) {
                  setPreset({ kind: 'hourly', minute });
                }
              }}
            />
          </div>
        )}
        {preset.kind === 'weekly' && (
          <div className="jp-Jobs-field">
            <label htmlFor="jp-Jobs-schedule-day">{trans.__('On')}</label>
            <HTMLSelect
              id="jp-Jobs-schedule-day"
              name="day"
              value={String(preset.day)}
              onChange={e =>
                setPreset({ ...preset, day: Number(e.currentTarget.value) })
              }
              options={weekdayNames(trans).map((label, day) => ({
                label,
                value: String(day)
              }))}
            />
          </div>
        )}
        {preset.kind === 'monthly' && (
          <div className="jp-Jobs-field">
            <label htmlFor="jp-Jobs-schedule-dom">{trans.__('On day')}</label>
            <HTMLSelect
              id="jp-Jobs-schedule-dom"
              name="day_of_month"
              value={String(preset.dayOfMonth)}
              onChange={e =>
                setPreset({
                  ...preset,
                  dayOfMonth: Number(e.currentTarget.value)
                })
              }
              options={Array.from({ length: 31 }, (_, i) => ({
                label: String(i + 1),
                value: String(i + 1)
              }))}
            />
          </div>
        )}
        {time && preset.kind !== 'custom' && preset.kind !== 'hourly' && (
          <div className="jp-Jobs-field">
            <label htmlFor="jp-Jobs-schedule-time">{trans.__('At')}</label>
            <input
              id="jp-Jobs-schedule-time"
              name="time"
              type="time"
              className="jp-Jobs-time"
              value={time}
              onChange={e => {
                const parsed = parseTime(e.currentTarget.value);
                if (parsed) {
                  setPreset({ ...preset, hour: parsed[0], minute: parsed[1] });
                }
              }}
            />
          </div>
        )}
        {preset.kind === 'custom' && (
          <div className="jp-Jobs-field">
            <label htmlFor="jp-Jobs-schedule-cron">
              {trans.__('Cron expression')}
            </label>
            <InputGroup
              id="jp-Jobs-schedule-cron"
              name="cron"
              value={preset.cron}
              onChange={e =>
                setPreset({ kind: 'custom', cron: e.currentTarget.value })
              }
              placeholder={trans.__(
                'minute hour day-of-month month day-of-week'
              )}
            />
          </div>
        )}
        <div className="jp-Jobs-field">
          <label htmlFor="jp-Jobs-schedule-timezone">
            {trans.__('Time zone')}
          </label>
          <HTMLSelect
            id="jp-Jobs-schedule-timezone"
            name="timezone"
            value={timezone}
            onChange={e => setTimezone(e.currentTarget.value)}
            options={zoneChoices(timezone)}
          />
          <FieldError field="timezone" error={errors.timezone} />
        </div>
        <div className="jp-Jobs-preview" aria-live="polite">
          <code className="jp-Jobs-cronText">{cron}</code>
          {preview && (
            <>
              <div className="jp-Jobs-description">{preview.description}</div>
              <div className="jp-Jobs-hint">{trans.__('Next runs:')}</div>
              <ol className="jp-Jobs-nextRuns">
                {preview.next_runs.map(run => (
                  <li key={run} title={run}>
                    {new Date(run).toLocaleString(undefined, {
                      timeZone: timezone,
                      dateStyle: 'medium',
                      timeStyle: 'short'
                    })}{' '}
                    ({timezone})
                  </li>
                ))}
              </ol>
              {preview.warnings.map(warning => (
                <div
                  key={warning}
                  className="jp-Jobs-banner jp-Jobs-banner-warning"
                  role="note"
                >
                  {warning}
                </div>
              ))}
            </>
          )}
          <FieldError field="cron" error={errors.cron ?? previewError} />
        </div>
      </fieldset>
      <details className="jp-Jobs-advanced">
        <summary>{trans.__('Advanced')}</summary>
        <div className="jp-Jobs-field">
          <label htmlFor="jp-Jobs-schedule-concurrency">
            {trans.__('While a run is still active')}
          </label>
          <HTMLSelect
            id="jp-Jobs-schedule-concurrency"
            name="concurrency_policy"
            value={concurrency}
            onChange={e =>
              setConcurrency(e.currentTarget.value as ConcurrencyPolicy)
            }
            options={[
              { label: trans.__('Skip the new run (forbid)'), value: 'forbid' },
              { label: trans.__('Run both (allow)'), value: 'allow' },
              {
                label: trans.__('Cancel it and start the new one (replace)'),
                value: 'replace'
              }
            ]}
          />
        </div>
        <div className="jp-Jobs-field">
          <label htmlFor="jp-Jobs-schedule-misfire">
            {trans.__('Runs missed while the server was down')}
          </label>
          <HTMLSelect
            id="jp-Jobs-schedule-misfire"
            name="misfire_policy"
            value={misfire}
            onChange={e => setMisfire(e.currentTarget.value as MisfirePolicy)}
            options={[
              {
                label: trans.__('Run once for all of them'),
                value: 'run_once'
              },
              { label: trans.__('Skip them'), value: 'skip' },
              { label: trans.__('Run each (at most 10)'), value: 'run_all' }
            ]}
          />
        </div>
        <div className="jp-Jobs-field">
          <label htmlFor="jp-Jobs-schedule-start">{trans.__('Start')}</label>
          <input
            id="jp-Jobs-schedule-start"
            name="start_at"
            type="datetime-local"
            value={startAt}
            onChange={e => setStartAt(e.currentTarget.value)}
          />
          <FieldError field="start_at" error={errors.start_at} />
        </div>
        <div className="jp-Jobs-field">
          <label htmlFor="jp-Jobs-schedule-end">{trans.__('End')}</label>
          <input
            id="jp-Jobs-schedule-end"
            name="end_at"
            type="datetime-local"
            value={endAt}
            onChange={e => setEndAt(e.currentTarget.value)}
          />
          <FieldError field="end_at" error={errors.end_at} />
        </div>
      </details>
      {(formError || errors.job) && (
        <div className="jp-Jobs-formError" role="alert">
          {formError ?? errors.job}
        </div>
      )}
      <div className="jp-Jobs-formButtons">
        <Button type="button" minimal onClick={() => props.onCancel()}>
          {trans.__('Cancel')}
        </Button>
        <button
          type="submit"
          className="jp-Jobs-submit jp-mod-styled jp-mod-accept"
          disabled={busy}
        >
          {schedule ? trans.__('Save') : trans.__('Create Schedule')}
        </button>
      </div>
    </form>
  );
}
