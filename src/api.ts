import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import { ENGLISH } from './i18n';

/**
 * The URL namespace of the jupyterlab-jobs server extension.
 */
export const API_NAMESPACE = 'jupyterlab-jobs';

/** The statuses of a job, in lifecycle order. */
export const STATUSES = [
  'Pending',
  'Preparing',
  'Running',
  'Succeeded',
  'Failed',
  'Cancelled'
] as const;

export type JobStatus = (typeof STATUSES)[number];

/** Statuses after which a job never changes. */
export const FINAL_STATUSES: ReadonlyArray<JobStatus> = [
  'Succeeded',
  'Failed',
  'Cancelled'
];

/** Statuses of a job that has not ended yet (it can be cancelled). */
export const ACTIVE_STATUSES: ReadonlyArray<JobStatus> = [
  'Pending',
  'Preparing',
  'Running'
];

export function isFinal(status: string): boolean {
  return (FINAL_STATUSES as ReadonlyArray<string>).includes(status);
}

/** A job as the REST API returns it (see `openapi.json`, schema `Job`). */
export interface IJob {
  id: string;
  name: string;
  status: JobStatus;
  message: string;
  user: string;
  group: string;
  instance_type: string;
  image: string;
  command: string;
  schedule: { id: string; name: string } | null;
  /** What started it: a user, a schedule's tick, or a rerun. */
  trigger?: 'manual' | 'schedule' | 'rerun';
  /** The schedule's tick this run is for. */
  scheduled_for?: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_seconds: number | null;
  exit_code: number | null;
  logs_available: boolean;
  rerun_of: string | null;
  /** Notebook jobs: the notebook's path relative to the Jupyter root directory. */
  notebook?: string | null;
  /** Notebook jobs: the parameters passed to the notebook. */
  parameters?: Record<string, unknown> | null;
  /** Notebook jobs: the executed notebook, relative to the Jupyter root (or absolute). */
  output_path?: string | null;
  /** The GPU devices the job was given (local backend), e.g. `["0", "1"]`. */
  gpus?: string[];
}

export interface IJobList {
  jobs: IJob[];
  next_cursor: string | null;
}

export interface IGroupOption {
  name: string;
  display_name: string;
  instance_types: string[];
  images: string[];
  datasets: string[];
}

export interface IInstanceTypeOption {
  name: string;
  display_name: string;
  description: string;
  cpu: number;
  memory: string;
  gpu: number;
}

export interface IImageOption {
  name: string;
  display_name: string;
  description: string;
}

/** What the current user may choose from (`GET options`). */
export interface IOptions {
  user: string;
  groups: IGroupOption[];
  instance_types: IInstanceTypeOption[];
  images: IImageOption[];
  max_runtime_seconds: number;
  log_retention_seconds: number;
  /** True when no catalog is configured and the server offers its personal default. */
  default_setup?: boolean;
}

/** The body of `POST jobs`. */
export interface IJobRequest {
  name: string;
  group: string;
  instance_type: string;
  image: string;
  command?: string;
  notebook?: string;
  parameters?: Record<string, unknown>;
}

/** Filters of the job list; all of them narrow it. */
export interface IJobFilters {
  /** One group, or '' for all of the user's groups. */
  group: string;
  mine: boolean;
  /** Statuses to show; empty for all. */
  statuses: string[];
  /** Text the job name contains. */
  q: string;
}

export const NO_FILTERS: IJobFilters = {
  group: '',
  mine: false,
  statuses: [],
  q: ''
};

/**
 * An error response of the jobs API, with what the server said.
 *
 * It is a `ServerConnection.ResponseError`, so JupyterLab's own error helpers
 * understand it too.
 */
export class JobsAPIError extends ServerConnection.ResponseError {
  constructor(
    response: Response,
    message: string | undefined,
    readonly field: string | null = null,
    readonly reason: string | null = null
  ) {
    super(response, message);
    this.name = 'JobsAPIError';
  }

  /** The HTTP status: 400 invalid input, 403, 404, 409, 410, 413, ... */
  get status(): number {
    return this.response.status;
  }
}

/**
 * The server could not be reached at all (it is down, restarting, or the network is).
 */
export class ServerUnreachableError extends ServerConnection.NetworkError {
  constructor(original: unknown) {
    super(
      original instanceof TypeError
        ? original
        : new TypeError(String((original as Error)?.message ?? original))
    );
    this.name = 'ServerUnreachableError';
    this.message = 'Cannot reach the Jupyter server';
  }
}

/**
 * Whether an error means that the server is (perhaps briefly) unreachable rather than
 * that it refused the request: no connection, or a proxy's 502/503/504.
 */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof ServerConnection.NetworkError) {
    return true;
  }
  return (
    error instanceof ServerConnection.ResponseError &&
    [502, 503, 504].includes(error.response.status)
  );
}

/** The words to show a user for an error of the API. */
export function errorMessage(
  error: unknown,
  trans: TranslationBundle = ENGLISH
): string {
  if (isUnreachable(error)) {
    return trans.__(
      'Cannot reach the Jupyter server. Check that it is running.'
    );
  }
  if (error instanceof ServerConnection.ResponseError) {
    if (error.response.status === 403 && !(error instanceof JobsAPIError)) {
      return trans.__('You are not allowed to do this.');
    }
    // The server's own message stays as it is (English).
    return (
      error.message || trans.__('The server answered %1', error.response.status)
    );
  }
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

async function send(
  endPoint: string,
  init: RequestInit,
  settings: ServerConnection.ISettings
): Promise<Response> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);
  try {
    return await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerUnreachableError(error);
  }
}

async function responseError(response: Response): Promise<JobsAPIError> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // The body could not be read: the status alone must do.
  }
  let data: any = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  if (data && typeof data === 'object') {
    return new JobsAPIError(
      response,
      typeof data.message === 'string' ? data.message : undefined,
      typeof data.field === 'string' ? data.field : null,
      typeof data.reason === 'string' ? data.reason : null
    );
  }
  return new JobsAPIError(
    response,
    typeof data === 'string' && data.length > 0 && data.length < 1000
      ? data
      : undefined
  );
}

/**
 * Call the jupyterlab-jobs REST API.
 *
 * @param endPoint Path below the API namespace, e.g. `jobs` or `jobs/42/cancel`.
 * @param init Request options (method, body, headers).
 * @param settings Server connection settings; the page's settings by default.
 * @returns The response body parsed as JSON (`undefined` for an empty body).
 * @throws ServerUnreachableError (a ServerConnection.NetworkError) when the server
 *   cannot be reached.
 * @throws JobsAPIError (a ServerConnection.ResponseError) for a non-2xx response,
 *   carrying the server's `message` and, for invalid input, the `field` at fault.
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const response = await send(endPoint, init, settings);
  if (!response.ok) {
    throw await responseError(response);
  }
  const text = await response.text();
  if (text.length === 0) {
    return undefined as T;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as T;
  }
}

/** The query string of a job list request. */
export function listQuery(
  filters: IJobFilters,
  cursor: string | null,
  limit: number
): string {
  const params = new URLSearchParams();
  if (filters.group) {
    params.set('group', filters.group);
  }
  if (filters.mine) {
    params.set('mine', 'true');
  }
  if (filters.statuses.length > 0) {
    params.set('status', filters.statuses.join(','));
  }
  const q = filters.q.trim();
  if (q) {
    params.set('q', q);
  }
  params.set('limit', String(limit));
  if (cursor) {
    params.set('cursor', cursor);
  }
  return params.toString();
}

/** A chunk of a job's log. */
export interface ILogChunk {
  text: string;
  /** The byte offset to ask for next time. */
  nextOffset: number;
  /** The job's status when the response started. */
  status: string | null;
}

/** The typed client of the jobs REST API. Every method throws typed errors. */
export class JobsAPI {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  options(): Promise<IOptions> {
    return requestAPI<IOptions>('options', {}, this.settings);
  }

  listJobs(
    filters: IJobFilters,
    cursor: string | null = null,
    limit = 50
  ): Promise<IJobList> {
    return requestAPI<IJobList>(
      `jobs?${listQuery(filters, cursor, limit)}`,
      {},
      this.settings
    );
  }

  getJob(id: string): Promise<IJob> {
    return requestAPI<IJob>(
      `jobs/${encodeURIComponent(id)}`,
      {},
      this.settings
    );
  }

  createJob(request: IJobRequest): Promise<IJob> {
    return requestAPI<IJob>(
      'jobs',
      { method: 'POST', body: JSON.stringify(request) },
      this.settings
    );
  }

  cancelJob(id: string): Promise<IJob> {
    return requestAPI<IJob>(
      `jobs/${encodeURIComponent(id)}/cancel`,
      { method: 'POST' },
      this.settings
    );
  }

  rerunJob(id: string): Promise<IJob> {
    return requestAPI<IJob>(
      `jobs/${encodeURIComponent(id)}/rerun`,
      { method: 'POST' },
      this.settings
    );
  }

  logsURL(id: string, query: Record<string, string | number> = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      params.set(key, String(value));
    }
    const search = params.toString();
    return (
      URLExt.join(
        this.settings.baseUrl,
        API_NAMESPACE,
        `jobs/${encodeURIComponent(id)}/logs`
      ) + (search ? `?${search}` : '')
    );
  }

  /**
   * Open a log request; the caller reads the body (maybe as a stream).
   *
   * @throws JobsAPIError with status 410 when retention removed the logs.
   */
  async openLogs(
    id: string,
    query: Record<string, string | number>,
    signal?: AbortSignal
  ): Promise<Response> {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        this.logsURL(id, query),
        { signal, cache: 'no-store' },
        this.settings
      );
    } catch (error) {
      if ((error as Error)?.name === 'AbortError') {
        throw error;
      }
      throw new ServerUnreachableError(error);
    }
    if (!response.ok) {
      throw await responseError(response);
    }
    return response;
  }

  /** The last `tail` lines of the log (or from `offset` when tail is undefined). */
  async readLogs(
    id: string,
    query: { tail?: number; offset?: number },
    signal?: AbortSignal
  ): Promise<ILogChunk> {
    const response = await this.openLogs(
      id,
      query as Record<string, number>,
      signal
    );
    const text = await response.text();
    return {
      text,
      nextOffset: Number(response.headers.get('X-Log-Offset') ?? 0),
      status: response.headers.get('X-Job-Status')
    };
  }

  /** The whole log as a Blob, for download. */
  async downloadLogs(id: string): Promise<Blob> {
    const response = await this.openLogs(id, {});
    return response.blob();
  }

  /** The files the job left in `$HOME/artifacts/`. */
  listArtifacts(id: string): Promise<IArtifactList> {
    return requestAPI<IArtifactList>(
      `jobs/${encodeURIComponent(id)}/artifacts`,
      { cache: 'no-store' },
      this.settings
    );
  }

  /** One artifact's bytes (`path` as listed, `/` between folders). */
  async downloadArtifact(id: string, path: string): Promise<Blob> {
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    const response = await send(
      `jobs/${encodeURIComponent(id)}/artifacts/${encoded}`,
      { cache: 'no-store' },
      this.settings
    );
    if (!response.ok) {
      throw await responseError(response);
    }
    return response.blob();
  }

  /** What the job used: CPU, memory and GPU samples and totals. */
  getUsage(id: string): Promise<IUsage> {
    return requestAPI<IUsage>(
      `jobs/${encodeURIComponent(id)}/usage`,
      { cache: 'no-store' },
      this.settings
    );
  }
}

/** `GET jobs/{id}/artifacts`. */
export interface IArtifactList {
  available: boolean;
  artifacts: { path: string; size: number; modified: number }[];
  truncated: boolean;
  omitted: { path: string; size: number; reason: string }[];
  message: string;
}

/** One reading of `GET jobs/{id}/usage`: CPUs used, resident bytes, GPU %. */
export interface IUsageSample {
  t: number;
  cpu: number;
  memory_bytes: number;
  gpu?: number;
}

/** `GET jobs/{id}/usage`. */
export interface IUsage {
  available: boolean;
  samples: IUsageSample[];
  peak_memory_bytes: number;
  cpu_seconds: number;
  memory_limit_bytes: number | null;
  message: string;
}
