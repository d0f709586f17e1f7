import { Time } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';

import { IJob, isFinal } from './api';
import { ENGLISH } from './i18n';

/** `3725` -> `1h 2m 5s`, `65` -> `1m 5s`, `4.2` -> `4s`. */
export function formatDuration(
  seconds: number | null | undefined,
  trans: TranslationBundle = ENGLISH
): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '-';
  }
  let rest = Math.max(0, Math.floor(seconds));
  const days = Math.floor(rest / 86400);
  rest %= 86400;
  const hours = Math.floor(rest / 3600);
  rest %= 3600;
  const minutes = Math.floor(rest / 60);
  const secs = rest % 60;
  if (days > 0) {
    return trans.__('%1d %2h %3m', days, hours, minutes);
  }
  if (hours > 0) {
    return trans.__('%1h %2m %3s', hours, minutes, secs);
  }
  if (minutes > 0) {
    return trans.__('%1m %2s', minutes, secs);
  }
  return trans.__('%1s', secs);
}

/**
 * A length of time an administrator set (a run-time limit, a retention), in words when
 * it is round: `604800` -> `7 days`, `86400` -> `24 hours`, `3600` -> `1 hour`; any other
 * length as `formatDuration` shows it. Not for a job's run time, which ticks: it would
 * jump between `1 hour` and `1h 0m 1s`.
 */
export function formatPeriod(
  seconds: number | null | undefined,
  trans: TranslationBundle = ENGLISH
): string {
  if (typeof seconds === 'number' && Number.isInteger(seconds) && seconds > 0) {
    // From two days on a week reads better in days; a day reads better as 24 hours.
    if (seconds % 86400 === 0 && seconds >= 2 * 86400) {
      return trans._n('%1 day', '%1 days', seconds / 86400);
    }
    if (seconds % 3600 === 0) {
      return trans._n('%1 hour', '%1 hours', seconds / 3600);
    }
  }
  return formatDuration(seconds, trans);
}

/**
 * The job's run time now: the server's `duration_seconds` plus the time elapsed since
 * it was received, while the job runs (local clock differences do not matter).
 */
export function liveDuration(
  job: IJob,
  receivedAt: number,
  now: number = Date.now()
): number | null {
  if (job.duration_seconds === null || job.duration_seconds === undefined) {
    return null;
  }
  if (isFinal(job.status) || job.started_at === null) {
    return job.duration_seconds;
  }
  return job.duration_seconds + Math.max(0, now - receivedAt) / 1000;
}

/** `3 minutes ago`, for an ISO time; '-' for none. */
export function relativeTime(iso: string | null | undefined): string {
  if (!iso) {
    return '-';
  }
  return Time.formatHuman(new Date(iso));
}

/** The full local date and time, for an ISO time; '-' for none. */
export function absoluteTime(iso: string | null | undefined): string {
  if (!iso) {
    return '-';
  }
  return new Date(iso).toLocaleString();
}
