import {
  cronFromPreset,
  parseTime,
  Preset,
  presetFromCron,
  switchPreset,
  timeText
} from '../schedules/presets';
import { untilText } from '../schedules/api';

describe('presets and cron', () => {
  const presets: [Preset, string][] = [
    [{ kind: 'hourly', minute: 15 }, '15 * * * *'],
    [{ kind: 'hourly', minute: 0 }, '0 * * * *'],
    [{ kind: 'daily', hour: 4, minute: 0 }, '0 4 * * *'],
    [{ kind: 'daily', hour: 23, minute: 59 }, '59 23 * * *'],
    [{ kind: 'weekdays', hour: 9, minute: 30 }, '30 9 * * 1-5'],
    [{ kind: 'weekly', day: 0, hour: 6, minute: 5 }, '5 6 * * 0'],
    [{ kind: 'weekly', day: 6, hour: 12, minute: 0 }, '0 12 * * 6'],
    [{ kind: 'monthly', dayOfMonth: 1, hour: 0, minute: 0 }, '0 0 1 * *'],
    [{ kind: 'monthly', dayOfMonth: 31, hour: 8, minute: 45 }, '45 8 31 * *']
  ];

  it.each(presets)('%j <-> %s', (preset, cron) => {
    expect(cronFromPreset(preset)).toBe(cron);
    expect(presetFromCron(cron)).toEqual(preset);
  });

  it.each([
    ['@hourly', { kind: 'hourly', minute: 0 }],
    ['@daily', { kind: 'daily', hour: 0, minute: 0 }],
    ['@weekly', { kind: 'weekly', day: 0, hour: 0, minute: 0 }],
    ['@monthly', { kind: 'monthly', dayOfMonth: 1, hour: 0, minute: 0 }]
  ])('the macro %s is a preset', (cron, preset) => {
    expect(presetFromCron(cron)).toEqual(preset);
  });

  it.each([
    '*/15 * * * *',
    '0 4 * * 1-3',
    '0 4 1,15 * *',
    '0 4 13 * 5',
    '0 4 * 1 *',
    '07 4 * * *',
    '0 24 * * *',
    '0 0 32 * *',
    '@yearly',
    'garbage',
    ''
  ])('%s stays a custom expression, unchanged', cron => {
    const preset = presetFromCron(cron);
    expect(preset).toEqual({ kind: 'custom', cron: cron.trim() });
    expect(cronFromPreset(preset)).toBe(cron.trim());
  });

  it('switching presets keeps the time', () => {
    const daily: Preset = { kind: 'daily', hour: 7, minute: 20 };
    expect(switchPreset(daily, 'weekly')).toEqual({
      kind: 'weekly',
      day: 1,
      hour: 7,
      minute: 20
    });
    expect(switchPreset(daily, 'hourly')).toEqual({
      kind: 'hourly',
      minute: 20
    });
    expect(switchPreset(daily, 'custom')).toEqual({
      kind: 'custom',
      cron: '20 7 * * *'
    });
  });

  it('reads and writes hh:mm', () => {
    expect(timeText(9, 5)).toBe('09:05');
    expect(parseTime('09:05')).toEqual([9, 5]);
    expect(parseTime('9:05')).toEqual([9, 5]);
    expect(parseTime('24:00')).toBeNull();
    expect(parseTime('12:60')).toBeNull();
  });
});

describe('untilText', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  it.each([
    ['2030-01-01T00:05:00Z', 'in 5 minutes'],
    ['2030-01-01T21:00:00Z', 'in 21 hours'],
    ['2030-01-04T00:00:00Z', 'in 3 days'],
    ['2030-01-01T00:00:30Z', 'in 30 seconds'],
    ['2029-12-31T23:00:00Z', '1 hour ago']
  ])('%s -> %s', (iso, text) => {
    expect(untilText(iso, now)).toBe(text);
  });
});
