import { TranslationBundle } from '@jupyterlab/translation';
import { InputGroup } from '@jupyterlab/ui-components';
import * as React from 'react';

import { SchedulesAPI } from '../schedules/api';
import {
  cronFromPreset,
  parseTime,
  Preset,
  PRESET_KINDS,
  PresetKind,
  presetLabel,
  switchPreset,
  timeText,
  weekdayNames
} from '../schedules/presets';
import { FieldError, FieldRow, SelectField, TextField } from './FormParts';
import { useLoaded } from './hooks';
import { zoneTime } from './ScheduleParts';

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

export interface IRecurrenceFieldsProps {
  api: SchedulesAPI;
  preset: Preset;
  onPresetChange: (preset: Preset) => void;
  timezone: string;
  onTimezoneChange: (timezone: string) => void;
  /** The server's errors about the schedule's cron and zone. */
  errors: Partial<Record<string, string>>;
  trans: TranslationBundle;
}

/** When a schedule runs: a preset (or cron), its time, the zone, a live preview. */
export function RecurrenceFields(props: IRecurrenceFieldsProps): JSX.Element {
  const { preset, timezone, errors, trans } = props;
  const setPreset = props.onPresetChange;
  const cron = cronFromPreset(preset);
  // The server is the single source of truth for when it runs: ask it as the user types.
  const preview = useLoaded(
    () => props.api.preview(cron, timezone),
    [cron, timezone],
    trans,
    { delayMs: 250 }
  );
  const time =
    preset.kind !== 'custom' && preset.kind !== 'hourly'
      ? timeText(preset.hour, preset.minute)
      : '';
  return (
    <fieldset className="jp-Jobs-recurrence">
      <legend>{trans.__('Recurrence')}</legend>
      <SelectField
        id="jp-Jobs-schedule-preset"
        name="preset"
        label={trans.__('Repeat')}
        value={preset.kind}
        onChange={kind => setPreset(switchPreset(preset, kind as PresetKind))}
        options={PRESET_KINDS.map(kind => ({
          label: presetLabel(kind, trans),
          value: kind
        }))}
      />
      {preset.kind === 'hourly' && (
        <FieldRow id="jp-Jobs-schedule-minute" label={trans.__('At minute')}>
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
        </FieldRow>
      )}
      {preset.kind === 'weekly' && (
        <SelectField
          id="jp-Jobs-schedule-day"
          name="day"
          label={trans.__('On')}
          value={String(preset.day)}
          onChange={day => setPreset({ ...preset, day: Number(day) })}
          options={weekdayNames(trans).map((label, day) => ({
            label,
            value: String(day)
          }))}
        />
      )}
      {preset.kind === 'monthly' && (
        <SelectField
          id="jp-Jobs-schedule-dom"
          name="day_of_month"
          label={trans.__('On day')}
          value={String(preset.dayOfMonth)}
          onChange={day => setPreset({ ...preset, dayOfMonth: Number(day) })}
          options={Array.from({ length: 31 }, (_, i) => ({
            label: String(i + 1),
            value: String(i + 1)
          }))}
        />
      )}
      {time && preset.kind !== 'custom' && preset.kind !== 'hourly' && (
        <FieldRow id="jp-Jobs-schedule-time" label={trans.__('At')}>
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
        </FieldRow>
      )}
      {preset.kind === 'custom' && (
        <TextField
          id="jp-Jobs-schedule-cron"
          name="cron"
          label={trans.__('Cron expression')}
          value={preset.cron}
          onChange={cron => setPreset({ kind: 'custom', cron })}
          placeholder={trans.__('minute hour day-of-month month day-of-week')}
        />
      )}
      <SelectField
        id="jp-Jobs-schedule-timezone"
        name="timezone"
        label={trans.__('Time zone')}
        value={timezone}
        onChange={props.onTimezoneChange}
        options={zoneChoices(timezone)}
        error={errors.timezone}
      />
      <div className="jp-Jobs-preview" aria-live="polite">
        <code className="jp-Jobs-cronText">{cron}</code>
        {preview.value && !preview.error && (
          <>
            <div className="jp-Jobs-description">
              {preview.value.description}
            </div>
            <div className="jp-Jobs-hint">{trans.__('Next runs:')}</div>
            <ol className="jp-Jobs-nextRuns">
              {preview.value.next_runs.map(run => (
                <li key={run} title={run}>
                  {zoneTime(run, timezone)} ({timezone})
                </li>
              ))}
            </ol>
            {preview.value.warnings.map(warning => (
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
        <FieldError field="cron" error={errors.cron ?? preview.error} />
      </div>
    </fieldset>
  );
}
