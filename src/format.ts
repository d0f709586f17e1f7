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
