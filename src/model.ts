import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { TranslationBundle } from '@jupyterlab/translation';

import {
  ACTIVE_STATUSES,
  errorMessage,
  IJob,
  IJobFilters,
  IJobList,
  IJobRequest,
  IOptions,
  isFinal,
  isUnreachable,
  NO_FILTERS
} from './api';
import { ENGLISH } from './i18n';

/** The part of the REST client the model uses (a fake one in the unit tests). */
export interface IJobsClient {
  options(): Promise<IOptions>;
  listJobs(
    filters: IJobFilters,
    cursor?: string | null,
    limit?: number
  ): Promise<IJobList>;
  getJob(id: string): Promise<IJob>;
  createJob(request: IJobRequest): Promise<IJob>;
  cancelJob(id: string): Promise<IJob>;
  rerunJob(id: string): Promise<IJob>;
}

/** Page size of the list, and of each infinite-scroll step. */
export const PAGE_SIZE = 50;
/** At most this many jobs are fetched one by one per refresh (active jobs seen lower). */
const MAX_SINGLE_FETCHES = 10;

export namespace JobsModel {
  export interface IOptionsArg {
    client: IJobsClient;
    /** Seconds between refreshes. */
    pollInterval?: number;
    /** Longest wait between attempts while the server is failing, in seconds. */
    maxBackoff?: number;
    /** Start polling at once (the tests drive refresh() themselves). */
    autoStart?: boolean;
    /** Translates the model's own words (its error messages). */
    trans?: TranslationBundle;
  }
}

/**
 * The state of the Jobs panel: options, filters, the loaded pages of the list, and
 * whether the server is reachable. Widgets render it and call its methods; a Lumino
 * Poll refreshes it with backoff, and stands by while the panel or the page is hidden.
 *
 * A second, lighter poll watches the user's own active jobs so that their end can be
 * announced (`jobFinished`) even while the panel is closed.
 */
export class JobsModel {
  constructor(options: JobsModel.IOptionsArg) {
    this.client = options.client;
    this._trans = options.trans ?? ENGLISH;
    this._interval = Math.max(1, options.pollInterval ?? 5) * 1000;
    this._maxBackoff = Math.max(10, options.maxBackoff ?? 60) * 1000;
    this._poll = new Poll({
      auto: false,
      factory: () => this.refresh(),
      frequency: {
        interval: this._interval,
        backoff: true,
        max: this._maxBackoff
      },
      name: 'jupyterlab-jobs:list',
      standby: () => !this._visible || 'when-hidden'
    });
    this._watcher = new Poll({
      auto: false,
      factory: () => this.watchMine(),
      frequency: {
        interval: this._interval * 2,
        backoff: true,
        max: this._maxBackoff
      },
      name: 'jupyterlab-jobs:watch',
      standby: () => !this._watchEnabled || 'when-hidden'
    });
    if (options.autoStart !== false) {
      void this._poll.start();
      void this._watcher.start();
    }
  }

  readonly client: IJobsClient;

  /** Emitted when anything the widgets show changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted once when a job of the current user reaches a final status. */
  get jobFinished(): ISignal<this, IJob> {
    return this._jobFinished;
  }

  get options(): IOptions | null {
    return this._options;
  }

  get filters(): IJobFilters {
    return this._filters;
  }

  get jobs(): ReadonlyArray<IJob> {
    return this._jobs;
  }

  /** When each job's data arrived (ms, `Date.now()`), for live durations. */
  receivedAt(id: string): number {
    return this._receivedAt.get(id) ?? Date.now();
  }

  get hasMore(): boolean {
    return this._nextCursor !== null;
  }

  /** True until the first page of the current filters arrived. */
  get loading(): boolean {
    return this._loading;
  }

  get loadingMore(): boolean {
    return this._loadingMore;
  }

  /** The last error of a refresh, in words; null after a successful one. */
  get error(): string | null {
    return this._error;
  }

  /** True while the server cannot be reached; polling goes on with backoff. */
  get unreachable(): boolean {
    return this._unreachable;
  }

  get pollInterval(): number {
    return this._interval / 1000;
  }

  set pollInterval(seconds: number) {
    const interval = Math.max(1, seconds) * 1000;
    if (interval === this._interval) {
      return;
    }
    this._interval = interval;
    this._poll.frequency = {
      interval,
      backoff: true,
      max: this._maxBackoff
    };
    this._watcher.frequency = {
      interval: interval * 2,
      backoff: true,
      max: this._maxBackoff
    };
  }

  /** Whether the user's finished jobs should be watched (notifications on). */
  set watchEnabled(value: boolean) {
    this._watchEnabled = value;
    if (value) {
      void this._watcher.refresh();
    }
  }

  get watchEnabled(): boolean {
    return this._watchEnabled;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The panel is shown or hidden; polling stands by while it is hidden. */
  setVisible(visible: boolean): void {
    if (visible === this._visible) {
      return;
    }
    this._visible = visible;
    if (visible) {
      void this._poll.refresh();
    }
  }

  /** Change filters: the list starts again from its first page. */
  setFilters(filters: Partial<IJobFilters>): void {
    this._filters = { ...this._filters, ...filters };
    this._generation += 1;
    this._jobs = [];
    this._nextCursor = null;
    this._loading = true;
    this._changed.emit();
    void this._poll.refresh();
  }

  /** Refresh now (the Refresh button); resolves when the list was refreshed. */
  async refreshNow(): Promise<void> {
    await this._poll.refresh();
    await this._poll.tick;
  }

  /**
   * Fetch the options (until they arrived) and the list's first page; merge it with the
   * pages loaded below it. Throws when the server failed, so that the poll backs off.
   */
  async refresh(): Promise<void> {
    const generation = this._generation;
    try {
      if (!this._options) {
        this._options = await this.client.options();
      }
      const page = await this.client.listJobs(this._filters, null, PAGE_SIZE);
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._mergeFirstPage(page);
      await this._refreshActiveBelow(generation);
      this._setHealthy();
    } catch (error) {
      if (generation === this._generation) {
        this._setFailed(error);
      }
      throw error;
    } finally {
      if (generation === this._generation && this._loading) {
        this._loading = false;
        this._changed.emit();
      }
    }
  }

  /** Load the next page (infinite scroll). */
  async loadMore(): Promise<void> {
    if (this._nextCursor === null || this._loadingMore || this._loading) {
      return;
    }
    const generation = this._generation;
    this._loadingMore = true;
    this._changed.emit();
    try {
      const page = await this.client.listJobs(
        this._filters,
        this._nextCursor,
        PAGE_SIZE
      );
      if (generation !== this._generation) {
        return;
      }
      const known = new Set(this._jobs.map(job => job.id));
      const fresh = page.jobs.filter(job => !known.has(job.id));
      this._stamp(fresh);
      this._jobs = [...this._jobs, ...fresh];
      this._nextCursor = page.next_cursor;
      this._setHealthy();
    } catch (error) {
      this._setFailed(error);
    } finally {
      this._loadingMore = false;
      this._changed.emit();
    }
  }

  /**
   * Check the current user's active jobs; announce those that ended since last time.
   */
  async watchMine(): Promise<void> {
    if (!this._options) {
      this._options = await this.client.options();
    }
    const page = await this.client.listJobs(
      { ...NO_FILTERS, mine: true, statuses: [...ACTIVE_STATUSES] },
      null,
      200
    );
    const stillActive = new Set(page.jobs.map(job => job.id));
    page.jobs.forEach(job => this._observe(job));
    const gone = [...this._mineActive].filter(id => !stillActive.has(id));
    for (const id of gone.slice(0, MAX_SINGLE_FETCHES)) {
      try {
        this._observe(await this.client.getJob(id));
      } catch (error) {
        if (isUnreachable(error)) {
          throw error;
        }
        // Deleted (record retention) or no longer visible: stop watching it.
        this._mineActive.delete(id);
      }
    }
  }

  /** Submit a job; it shows at the top of the list at once. */
  async create(request: IJobRequest): Promise<IJob> {
    const job = await this.client.createJob(request);
    this._upsert(job, true);
    return job;
  }

  async cancel(id: string): Promise<IJob> {
    const job = await this.client.cancelJob(id);
    this._upsert(job, false);
    return job;
  }

  async rerun(id: string): Promise<IJob> {
    const job = await this.client.rerunJob(id);
    this._upsert(job, true);
    return job;
  }

  /** Fetch one job and update it in the list. */
  async fetchJob(id: string): Promise<IJob> {
    const job = await this.client.getJob(id);
    this._upsert(job, false);
    return job;
  }

  /** A loaded job by id. */
  find(id: string): IJob | undefined {
    return this._jobs.find(job => job.id === id);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    this._watcher.dispose();
    Signal.clearData(this);
  }

  /** Put a job into the list (at the top when new and `prepend`), or update it. */
  private _upsert(job: IJob, prepend: boolean): void {
    this._observe(job);
    this._stamp([job]);
    const index = this._jobs.findIndex(j => j.id === job.id);
    if (index >= 0) {
      const jobs = [...this._jobs];
      jobs[index] = job;
      this._jobs = jobs;
    } else if (prepend && this._matches(job)) {
      this._jobs = [job, ...this._jobs];
    }
    this._changed.emit();
  }

  private _matches(job: IJob): boolean {
    const f = this._filters;
    if (f.group && job.group !== f.group) {
      return false;
    }
    if (f.mine && this._options && job.user !== this._options.user) {
      return false;
    }
    if (f.statuses.length > 0 && !f.statuses.includes(job.status)) {
      return false;
    }
    const q = f.q.trim().toLowerCase();
    return !q || job.name.toLowerCase().includes(q);
  }

  private _mergeFirstPage(page: IJobList): void {
    page.jobs.forEach(job => this._observe(job));
    this._stamp(page.jobs);
    const old = this._jobs;
    if (old.length <= page.jobs.length || page.jobs.length === 0) {
      this._jobs = page.jobs;
      this._nextCursor = page.next_cursor;
    } else {
      const last = page.jobs[page.jobs.length - 1];
      const lastIndex = old.findIndex(job => job.id === last.id);
      if (lastIndex < 0) {
        // More new jobs than a page: start again from the first page.
        this._jobs = page.jobs;
        this._nextCursor = page.next_cursor;
      } else {
        const inPage = new Set(page.jobs.map(job => job.id));
        const below = old
          .slice(lastIndex + 1)
          .filter(job => !inPage.has(job.id));
        this._jobs = [...page.jobs, ...below];
      }
    }
    this._changed.emit();
  }

  /** Jobs loaded below the first page that were active: refresh them too. */
  private async _refreshActiveBelow(generation: number): Promise<void> {
    const below = this._jobs
      .slice(PAGE_SIZE)
      .filter(job => !isFinal(job.status));
    if (below.length === 0) {
      return;
    }
    const statuses =
      this._filters.statuses.length > 0
        ? this._filters.statuses.filter(s =>
            (ACTIVE_STATUSES as ReadonlyArray<string>).includes(s)
          )
        : [...ACTIVE_STATUSES];
    const fresh = new Map<string, IJob>();
    if (statuses.length > 0) {
      const active = await this.client.listJobs(
        { ...this._filters, statuses },
        null,
        200
      );
      active.jobs.forEach(job => fresh.set(job.id, job));
    }
    const missing = below.filter(job => !fresh.has(job.id));
    for (const job of missing.slice(0, MAX_SINGLE_FETCHES)) {
      try {
        fresh.set(job.id, await this.client.getJob(job.id));
      } catch (error) {
        if (isUnreachable(error)) {
          throw error;
        }
      }
    }
    if (generation !== this._generation) {
      return;
    }
    const updated = [...fresh.values()];
    updated.forEach(job => this._observe(job));
    this._stamp(updated);
    this._jobs = this._jobs.map(job => fresh.get(job.id) ?? job);
    this._changed.emit();
  }

  /** Follow the current user's jobs: announce the ones seen going from active to final. */
  private _observe(job: IJob): void {
    if (!this._options || job.user !== this._options.user) {
      return;
    }
    if (!isFinal(job.status)) {
      this._mineActive.add(job.id);
    } else if (this._mineActive.delete(job.id)) {
      this._jobFinished.emit(job);
    }
  }

  private _stamp(jobs: IJob[]): void {
    const now = Date.now();
    jobs.forEach(job => this._receivedAt.set(job.id, now));
  }

  private _setHealthy(): void {
    if (this._unreachable || this._error !== null) {
      this._unreachable = false;
      this._error = null;
      this._changed.emit();
    }
  }

  private _setFailed(error: unknown): void {
    this._unreachable = isUnreachable(error);
    this._error = errorMessage(error, this._trans);
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _jobFinished = new Signal<this, IJob>(this);
  private _poll: Poll;
  private _watcher: Poll;
  private _interval: number;
  private _maxBackoff: number;
  private _visible = false;
  private _watchEnabled = true;
  private _options: IOptions | null = null;
  private _filters: IJobFilters = { ...NO_FILTERS };
  private _jobs: IJob[] = [];
  private _receivedAt = new Map<string, number>();
  private _nextCursor: string | null = null;
  private _loading = true;
  private _loadingMore = false;
  private _error: string | null = null;
  private _unreachable = false;
  private _generation = 0;
  private _mineActive = new Set<string>();
  private _isDisposed = false;
  private _trans: TranslationBundle;
}
