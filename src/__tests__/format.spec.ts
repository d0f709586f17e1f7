import { IJob } from '../api';
import { LogBuffer } from '../logbuffer';
import { formatDuration, formatPeriod, liveDuration } from '../format';

describe('formatDuration', () => {
  it.each([
    [null, '-'],
    [0, '0s'],
    [4.7, '4s'],
    [65, '1m 5s'],
    [3725, '1h 2m 5s'],
    [90061, '1d 1h 1m']
  ])('%p -> %s', (seconds, text) => {
    expect(formatDuration(seconds as number | null)).toBe(text);
  });
});

describe('formatPeriod', () => {
  it.each([
    [7 * 86400, '7 days'],
    [2 * 86400, '2 days'],
    [86400, '24 hours'],
    [3600, '1 hour'],
    [90000, '25 hours'],
    [5400, '1h 30m 0s'],
    [90061, '1d 1h 1m'],
    [0, '0s'],
    [null, '-']
  ])('%p -> %s', (seconds, text) => {
    expect(formatPeriod(seconds as number | null)).toBe(text);
  });

  it('leaves the ticking run time of a job as it was', () => {
    expect(formatDuration(3600)).toBe('1h 0m 0s');
    expect(formatDuration(7 * 86400)).toBe('7d 0h 0m');
  });
});

describe('liveDuration', () => {
  const base = {
    duration_seconds: 10,
    started_at: '2026-01-01T00:00:00Z'
  } as IJob;

  it('counts on from the server value while the job runs', () => {
    const job = { ...base, status: 'Running' } as IJob;
    expect(liveDuration(job, 1000, 4000)).toBe(13);
  });

  it('stays at the server value once final, and is null before a start', () => {
    expect(
      liveDuration({ ...base, status: 'Succeeded' } as IJob, 1000, 9000)
    ).toBe(10);
    expect(
      liveDuration(
        {
          ...base,
          status: 'Pending',
          started_at: null,
          duration_seconds: null
        },
        0,
        5000
      )
    ).toBeNull();
  });
});

describe('LogBuffer', () => {
  it('joins chunks that split lines', () => {
    const buffer = new LogBuffer(10);
    buffer.append('one\ntw');
    buffer.append('o\nthr');
    expect(buffer.lines).toEqual(['one', 'two']);
    expect(buffer.partial).toBe('thr');
    expect(buffer.text).toBe('one\ntwo\nthr');
  });

  it('keeps only the last lines and counts the dropped ones', () => {
    const buffer = new LogBuffer(3);
    buffer.append(
      Array.from({ length: 10 }, (_, i) => `line ${i}`).join('\n') + '\n'
    );
    expect(buffer.lines).toEqual(['line 7', 'line 8', 'line 9']);
    expect(buffer.dropped).toBe(7);
    expect(buffer.empty).toBe(false);
  });
});
