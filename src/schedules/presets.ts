/**
 * The schedule form's presets and the cron expressions they build. `presetFromCron`
 * recognizes what `cronFromPreset` builds (and the macros), so editing a schedule
 * shows the preset it was made with; anything else is a custom expression.
 */
import { TranslationBundle } from '@jupyterlab/translation';

export type Preset =
  | { kind: 'hourly'; minute: number }
  | { kind: 'daily'; hour: number; minute: number }
  | { kind: 'weekdays'; hour: number; minute: number }
  | { kind: 'weekly'; day: number; hour: number; minute: number }
  | { kind: 'monthly'; dayOfMonth: number; hour: number; minute: number }
  | { kind: 'custom'; cron: string };

export type PresetKind = Preset['kind'];

export const PRESET_KINDS: PresetKind[] = [
  'hourly',
  'daily',
  'weekdays',
  'weekly',
  'monthly',
  'custom'
];

/** The preset's name in the form. */
export function presetLabel(
  kind: PresetKind,
  trans: TranslationBundle
): string {
  switch (kind) {
    case 'hourly':
      return trans.__('Every hour');
    case 'daily':
      return trans.__('Every day');
    case 'weekdays':
      return trans.__('Weekdays (Monday to Friday)');
    case 'weekly':
      return trans.__('Every week');
    case 'monthly':
      return trans.__('Every month');
    case 'custom':
      return trans.__('Custom (cron)');
  }
}

/** Day-of-week names, Sunday (cron's 0) first. */
export function weekdayNames(trans: TranslationBundle): string[] {
  return [
    trans.__('Sunday'),
    trans.__('Monday'),
    trans.__('Tuesday'),
    trans.__('Wednesday'),
    trans.__('Thursday'),
    trans.__('Friday'),
    trans.__('Saturday')
  ];
}

export function cronFromPreset(preset: Preset): string {
  switch (preset.kind) {
    case 'hourly':
      return `${preset.minute} * * * *`;
    case 'daily':
      return `${preset.minute} ${preset.hour} * * *`;
    case 'weekdays':
      return `${preset.minute} ${preset.hour} * * 1-5`;
    case 'weekly':
      return `${preset.minute} ${preset.hour} * * ${preset.day}`;
    case 'monthly':
      return `${preset.minute} ${preset.hour} ${preset.dayOfMonth} * *`;
    case 'custom':
      return preset.cron.trim();
  }
}

const MACROS: { [macro: string]: string } = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *'
};

/** A plain number in [min, max] (no leading zeros but "0"), or null. */
function number(field: string, min: number, max: number): number | null {
  if (!/^(0|[1-9][0-9]?)$/.test(field)) {
    return null;
  }
  const value = Number(field);
  return value >= min && value <= max ? value : null;
}

export function presetFromCron(cron: string): Preset {
  const text = cron.trim();
  const fields = (MACROS[text.toLowerCase()] ?? text).split(/\s+/);
  const custom: Preset = { kind: 'custom', cron: text };
  if (fields.length !== 5) {
    return custom;
  }
  const [m, h, dom, month, dow] = fields;
  const minute = number(m, 0, 59);
  if (minute === null || month !== '*') {
    return custom;
  }
  if (h === '*' && dom === '*' && dow === '*') {
    return { kind: 'hourly', minute };
  }
  const hour = number(h, 0, 23);
  if (hour === null) {
    return custom;
  }
  if (dom === '*' && dow === '*') {
    return { kind: 'daily', hour, minute };
  }
  if (dom === '*' && dow === '1-5') {
    return { kind: 'weekdays', hour, minute };
  }
  const day = number(dow, 0, 6);
  if (dom === '*' && day !== null) {
    return { kind: 'weekly', day, hour, minute };
  }
  const dayOfMonth = number(dom, 1, 31);
  if (dow === '*' && dayOfMonth !== null) {
    return { kind: 'monthly', dayOfMonth, hour, minute };
  }
  return custom;
}

/** A preset of `kind` that keeps the time of `from` where it has one. */
export function switchPreset(from: Preset, kind: PresetKind): Preset {
  const minute = from.kind === 'custom' ? 0 : from.minute;
  const hour = 'hour' in from ? from.hour : 9;
  switch (kind) {
    case 'hourly':
      return { kind, minute };
    case 'daily':
    case 'weekdays':
      return { kind, hour, minute };
    case 'weekly':
      return { kind, day: 'day' in from ? from.day : 1, hour, minute };
    case 'monthly':
      return {
        kind,
        dayOfMonth: 'dayOfMonth' in from ? from.dayOfMonth : 1,
        hour,
        minute
      };
    case 'custom':
      return { kind, cron: cronFromPreset(from) };
  }
}

/** "09:05" */
export function timeText(hour: number, minute: number): string {
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

/** "09:05" -> [9, 5]; null for anything else. */
export function parseTime(text: string): [number, number] | null {
  const match = /^([01]?[0-9]|2[0-3]):([0-5][0-9])$/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2])] : null;
}
