import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IJobRequest, IOptions } from '../api';
import {
  ConcurrencyPolicy,
  ISchedule,
  IScheduleRequest,
  MisfirePolicy,
  SchedulesAPI
} from '../schedules/api';
import { cronFromPreset, Preset, presetFromCron } from '../schedules/presets';
import { FieldErrors } from '../validation';
import { CommandHint } from './CommandHint';
import { ChoiceFields, consistentChoices, serverErrors } from './CreateJobForm';
import { BackHeader } from './DetailPlaceholder';
import {
  FieldRow,
  FormButtons,
  IFieldRowProps,
  SelectField,
  TextField
} from './FormParts';
import { browserZone, RecurrenceFields } from './RecurrenceFields';

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

/** A date and time in the browser's zone, e.g. when a schedule starts or ends. */
function LocalTimeField(
  props: Omit<IFieldRowProps, 'children'> & {
    id: string;
    field: string;
    value: string;
    onChange: (value: string) => void;
  }
): JSX.Element {
  return (
    <FieldRow {...props}>
      <input
        id={props.id}
        name={props.field}
        type="datetime-local"
        value={props.value}
        onChange={e => props.onChange(e.currentTarget.value)}
      />
    </FieldRow>
  );
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
  const [errors, setErrors] = React.useState<ScheduleErrors>({});
  const [formError, setFormError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const cron = cronFromPreset(preset);

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

  const notebook = schedule?.job.notebook ?? initialJob.notebook;

  return (
    <form
      className="jp-Jobs-form jp-Jobs-scheduleForm"
      onSubmit={onSubmit}
      noValidate
    >
      <BackHeader
        label={trans.__('Schedules')}
        title={trans.__('Back without saving')}
        onBack={props.onCancel}
      />
      <h2 className="jp-Jobs-formTitle">
        {schedule ? trans.__('Edit Schedule') : trans.__('Create Schedule')}
      </h2>
      <TextField
        id="jp-Jobs-schedule-name"
        name="name"
        label={trans.__('Name')}
        value={name}
        onChange={setName}
        placeholder={trans.__('e.g. nightly report')}
        error={errors.name}
      />
      <ChoiceFields
        options={options}
        value={choices}
        errors={errors}
        onChange={setChoices}
        idPrefix="jp-Jobs-schedule"
        trans={trans}
      />
      {notebook ? (
        <FieldRow label={trans.__('Notebook')}>
          <code>{notebook}</code>
        </FieldRow>
      ) : (
        <TextField
          id="jp-Jobs-schedule-command"
          name="command"
          label={trans.__('Command')}
          rows={3}
          value={command}
          onChange={setCommand}
          error={errors.command}
        >
          <CommandHint options={options} group={choices.group} trans={trans} />
        </TextField>
      )}
      <RecurrenceFields
        api={api}
        preset={preset}
        onPresetChange={setPreset}
        timezone={timezone}
        onTimezoneChange={setTimezone}
        errors={errors}
        trans={trans}
      />
      <details className="jp-Jobs-advanced">
        <summary>{trans.__('Advanced')}</summary>
        <SelectField
          id="jp-Jobs-schedule-concurrency"
          name="concurrency_policy"
          label={trans.__('While a run is still active')}
          value={concurrency}
          onChange={value => setConcurrency(value as ConcurrencyPolicy)}
          options={[
            { label: trans.__('Skip the new run (forbid)'), value: 'forbid' },
            { label: trans.__('Run both (allow)'), value: 'allow' },
            {
              label: trans.__('Cancel it and start the new one (replace)'),
              value: 'replace'
            }
          ]}
        />
        <SelectField
          id="jp-Jobs-schedule-misfire"
          name="misfire_policy"
          label={trans.__('Runs missed while the server was down')}
          value={misfire}
          onChange={value => setMisfire(value as MisfirePolicy)}
          options={[
            { label: trans.__('Run once for all of them'), value: 'run_once' },
            { label: trans.__('Skip them'), value: 'skip' },
            { label: trans.__('Run each (at most 10)'), value: 'run_all' }
          ]}
        />
        <LocalTimeField
          id="jp-Jobs-schedule-start"
          label={trans.__('Start')}
          field="start_at"
          error={errors.start_at}
          value={startAt}
          onChange={setStartAt}
        />
        <LocalTimeField
          id="jp-Jobs-schedule-end"
          label={trans.__('End')}
          field="end_at"
          error={errors.end_at}
          value={endAt}
          onChange={setEndAt}
        />
      </details>
      <FormButtons
        error={formError ?? errors.job}
        submitLabel={schedule ? trans.__('Save') : trans.__('Create Schedule')}
        busy={busy}
        onCancel={props.onCancel}
        trans={trans}
      />
    </form>
  );
}
