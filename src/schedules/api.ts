import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import { IJob, JobStatus, requestAPI } from '../api';

/** What each run of a schedule submits (POST `jobs` without name and group). */
export interface IScheduleJob {
  instance_type: string;
  image: string;
  command?: string;
  notebook?: string;
  parameters?: Record<string, unknown>;
}

export type ConcurrencyPolicy = 'forbid' | 'allow' | 'replace';
export type MisfirePolicy = 'run_once' | 'skip' | 'run_all';

/** A schedule as the REST API returns it (see `openapi.json`, schema `Schedule`). */
export interface ISchedule {
  id: string;
  name: string;
  group: string;
  user: string;
  enabled: boolean;
  cron: string;
  timezone: string;
  description: string;
  job: IScheduleJob;
  concurrency_policy: ConcurrencyPolicy;
  misfire_policy: MisfirePolicy;
  starting_deadline_seconds: number;
  start_at: string | null;
  end_at: string | null;
  next_run_at: string | null;
  last_run: {
    id: string;
    status: JobStatus;
    trigger: string;
    scheduled_for: string | null;
    created_at: string;
  } | null;
  invalid_reason: string | null;
  created_at: string;
  updated_at: string;
}

/** The body of POST `schedules` (PATCH takes any part of it). */
export interface IScheduleRequest {
  name: string;
  group: string;
  cron: string;
  timezone: string;
  job: IScheduleJob;
  enabled?: boolean;
  concurrency_policy?: ConcurrencyPolicy;
  misfire_policy?: MisfirePolicy;
  start_at?: string | null;
  end_at?: string | null;
}

export interface IScheduleRun {
  scheduled_for: string | null;
  reason: 'overlap' | 'missed' | 'invalid' | null;
  message: string;
  job: IJob | null;
}

export interface IPreview {
  description: string;
  next_runs: string[];
  warnings: string[];
}

export type ScheduleState = 'active' | 'paused' | 'invalid';

/** Active, paused or invalid: what the list shows. */
export function scheduleState(schedule: ISchedule): ScheduleState {
  if (schedule.invalid_reason) {
    return 'invalid';
  }
  return schedule.enabled ? 'active' : 'paused';
}

export function stateLabel(
  state: ScheduleState,
  trans: TranslationBundle
): string {
  switch (state) {
    case 'active':
      return trans.__('Active');
    case 'paused':
      return trans.__('Paused');
    case 'invalid':
      return trans.__('Invalid');
  }
}

/**
 * "in 5 minutes", "in 3 hours", "in 2 days" (or "5 minutes ago"), for an ISO time.
 * JupyterLab's `Time.formatHuman` is made for past times only.
 */
export function untilText(iso: string, now: number = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60]
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) {
      return format.format(Math.round(seconds / size), unit);
    }
  }
  return format.format(seconds, 'second');
}

/** The typed client of the schedules part of the REST API. */
export class SchedulesAPI {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  list(filters: { group: string; mine: boolean; q: string }): Promise<{
    schedules: ISchedule[];
    next_cursor: string | null;
  }> {
    const params = new URLSearchParams();
    if (filters.group) {
      params.set('group', filters.group);
    }
    if (filters.mine) {
      params.set('mine', 'true');
    }
    if (filters.q.trim()) {
      params.set('q', filters.q.trim());
    }
    params.set('limit', '200');
    return requestAPI(`schedules?${params.toString()}`, {}, this.settings);
  }

  get(id: string): Promise<ISchedule> {
    return requestAPI(this._path(id), {}, this.settings);
  }

  create(request: IScheduleRequest): Promise<ISchedule> {
    return requestAPI(
      'schedules',
      { method: 'POST', body: JSON.stringify(request) },
      this.settings
    );
  }

  update(id: string, changes: Partial<IScheduleRequest>): Promise<ISchedule> {
    return requestAPI(
      this._path(id),
      { method: 'PATCH', body: JSON.stringify(changes) },
      this.settings
    );
  }

  remove(id: string): Promise<void> {
    return requestAPI(this._path(id), { method: 'DELETE' }, this.settings);
  }

  setEnabled(id: string, enabled: boolean): Promise<ISchedule> {
    const action = enabled ? 'resume' : 'pause';
    return requestAPI(
      `${this._path(id)}/${action}`,
      { method: 'POST' },
      this.settings
    );
  }

  runNow(id: string): Promise<IJob> {
    return requestAPI(
      `${this._path(id)}/run`,
      { method: 'POST' },
      this.settings
    );
  }

  runs(id: string): Promise<{ runs: IScheduleRun[] }> {
    return requestAPI(`${this._path(id)}/runs?limit=50`, {}, this.settings);
  }

  preview(cron: string, timezone: string, count = 5): Promise<IPreview> {
    return requestAPI(
      'schedules/preview',
      { method: 'POST', body: JSON.stringify({ cron, timezone, count }) },
      this.settings
    );
  }

  private _path(id: string): string {
    return `schedules/${encodeURIComponent(id)}`;
  }
}
