import { ServerConnection } from '@jupyterlab/services';

import {
  IJob,
  IJobFilters,
  IJobList,
  IJobRequest,
  IOptions,
  JobsAPIError,
  ServerUnreachableError
} from '../api';
import { IJobsClient, JobsModel, PAGE_SIZE } from '../model';
import { OPTIONS } from './fixtures';

let counter = 0;
function job(patch: Partial<IJob> = {}): IJob {
  counter += 1;
  return {
    id: `j${counter}`,
    name: `job ${counter}`,
    status: 'Running',
    message: '',
    user: 'alice',
    group: 'research',
    instance_type: 'cpu-1',
    image: 'python',
    command: 'sleep 1',
    schedule: null,
    created_at: '2026-01-01T00:00:00.000Z',
    started_at: '2026-01-01T00:00:01.000Z',
    finished_at: null,
    duration_seconds: 1,
    exit_code: null,
    logs_available: true,
    rerun_of: null,
    ...patch
  };
}

/** A fake server: `jobs` newest first; cursors are indexes. */
class FakeClient implements IJobsClient {
  jobs: IJob[] = [];
  failWith: Error | null = null;
  calls: { filters: IJobFilters; cursor: string | null; limit: number }[] = [];

  async options(): Promise<IOptions> {
    this.check();
    return OPTIONS;
  }

  async listJobs(
    filters: IJobFilters,
    cursor: string | null = null,
    limit = 50
  ): Promise<IJobList> {
    this.check();
    this.calls.push({ filters, cursor, limit });
    const matching = this.jobs.filter(
      j =>
        (!filters.group || j.group === filters.group) &&
        (!filters.mine || j.user === OPTIONS.user) &&
        (filters.statuses.length === 0 ||
          filters.statuses.includes(j.status)) &&
        j.name.includes(filters.q)
    );
    const start = cursor ? Number(cursor) : 0;
    const page = matching.slice(start, start + limit);
    const next = start + limit < matching.length ? String(start + limit) : null;
    return { jobs: page.map(j => ({ ...j })), next_cursor: next };
  }

  async getJob(id: string): Promise<IJob> {
    this.check();
    const found = this.jobs.find(j => j.id === id);
    if (!found) {
      throw new JobsAPIError(new Response(null, { status: 404 }), 'no job');
    }
    return { ...found };
  }

  async createJob(request: IJobRequest): Promise<IJob> {
    this.check();
    const created = job({ ...request, status: 'Pending' });
    this.jobs.unshift(created);
    return { ...created };
  }

  async cancelJob(id: string): Promise<IJob> {
    this.set(id, { status: 'Cancelled', message: 'Cancelled by alice' });
    return this.getJob(id);
  }

  async rerunJob(id: string): Promise<IJob> {
    const old = await this.getJob(id);
    const created = job({
      ...old,
      id: undefined,
      status: 'Pending',
      rerun_of: id
    });
    created.id = `j${++counter}`;
    this.jobs.unshift(created);
    return { ...created };
  }

  set(id: string, patch: Partial<IJob>): void {
    const index = this.jobs.findIndex(j => j.id === id);
    this.jobs[index] = { ...this.jobs[index], ...patch };
  }

  private check(): void {
    if (this.failWith) {
      throw this.failWith;
    }
  }
}

function makeModel(client: FakeClient): JobsModel {
  return new JobsModel({ client, autoStart: false });
}

describe('JobsModel', () => {
  let client: FakeClient;
  let model: JobsModel;

  beforeEach(() => {
    client = new FakeClient();
    model = makeModel(client);
  });

  afterEach(() => model.dispose());

  it('loads the options and the first page', async () => {
    client.jobs = Array.from({ length: 120 }, () => job());
    expect(model.loading).toBe(true);
    await model.refresh();
    expect(model.loading).toBe(false);
    expect(model.options?.user).toBe('alice');
    expect(model.jobs).toHaveLength(PAGE_SIZE);
    expect(model.jobs[0].id).toBe(client.jobs[0].id);
    expect(model.hasMore).toBe(true);
  });

  it('loads further pages through the cursor, without duplicates', async () => {
    client.jobs = Array.from({ length: 120 }, () => job());
    await model.refresh();
    await model.loadMore();
    await model.loadMore();
    expect(model.jobs.map(j => j.id)).toEqual(client.jobs.map(j => j.id));
    expect(model.hasMore).toBe(false);
    expect(client.calls.map(c => c.cursor)).toEqual([null, '50', '100']);
    // Nothing more to load: no request.
    await model.loadMore();
    expect(client.calls).toHaveLength(3);
  });

  it('keeps the pages loaded below when a refresh brings new jobs', async () => {
    client.jobs = Array.from({ length: 120 }, () =>
      job({ status: 'Succeeded' })
    );
    await model.refresh();
    await model.loadMore();
    const fresh = job();
    client.jobs.unshift(fresh);
    await model.refresh();
    expect(model.jobs).toHaveLength(101);
    expect(model.jobs[0].id).toBe(fresh.id);
    expect(new Set(model.jobs.map(j => j.id)).size).toBe(101);
    expect(model.hasMore).toBe(true);
  });

  it('refreshes active jobs loaded below the first page', async () => {
    client.jobs = Array.from({ length: 80 }, () =>
      job({ status: 'Succeeded' })
    );
    const deep = client.jobs[70];
    client.set(deep.id, { status: 'Running' });
    await model.refresh();
    await model.loadMore();
    expect(model.find(deep.id)?.status).toBe('Running');
    client.set(deep.id, { status: 'Failed', message: 'Exited with code 3' });
    await model.refresh();
    expect(model.find(deep.id)?.status).toBe('Failed');
  });

  it('starts again from the first page when the filters change', async () => {
    client.jobs = [
      job({ group: 'research', user: 'bob' }),
      job({ group: 'ml-team' }),
      job({ group: 'research' })
    ];
    await model.refresh();
    expect(model.jobs).toHaveLength(3);
    model.setFilters({ group: 'research', mine: true });
    expect(model.jobs).toHaveLength(0);
    expect(model.loading).toBe(true);
    await model.refresh();
    expect(model.jobs.map(j => j.id)).toEqual([client.jobs[2].id]);
    const last = client.calls[client.calls.length - 1];
    expect(last.filters).toMatchObject({ group: 'research', mine: true });
  });

  it('drops a response that arrives after the filters changed', async () => {
    client.jobs = [job({ name: 'alpha' }), job({ name: 'beta' })];
    const pending = model.refresh();
    model.setFilters({ q: 'beta' });
    await pending;
    expect(model.jobs).toHaveLength(0);
    await model.refresh();
    expect(model.jobs.map(j => j.name)).toEqual(['beta']);
  });

  it('says when the server is unreachable, and recovers', async () => {
    client.jobs = [job()];
    await model.refresh();
    client.failWith = new ServerUnreachableError(new TypeError('fetch failed'));
    await expect(model.refresh()).rejects.toBeInstanceOf(
      ServerConnection.NetworkError
    );
    expect(model.unreachable).toBe(true);
    expect(model.error).toContain('Cannot reach');
    // What was loaded stays visible.
    expect(model.jobs).toHaveLength(1);
    client.failWith = null;
    await model.refresh();
    expect(model.unreachable).toBe(false);
    expect(model.error).toBeNull();
  });

  it("shows the server's message for other errors", async () => {
    client.failWith = new JobsAPIError(
      new Response(null, { status: 400 }),
      'q must be at most 200 characters',
      'q'
    );
    await expect(model.refresh()).rejects.toBeTruthy();
    expect(model.unreachable).toBe(false);
    expect(model.error).toBe('q must be at most 200 characters');
  });

  it('announces once when a job of mine ends, never for others', async () => {
    const mine = job();
    const theirs = job({ user: 'bob' });
    const alreadyDone = job({ status: 'Succeeded' });
    client.jobs = [mine, theirs, alreadyDone];
    const finished: IJob[] = [];
    model.jobFinished.connect((_, j) => finished.push(j));
    await model.refresh();
    client.set(mine.id, { status: 'Succeeded' });
    client.set(theirs.id, { status: 'Failed' });
    await model.refresh();
    await model.refresh();
    expect(finished.map(j => j.id)).toEqual([mine.id]);
    expect(finished[0].status).toBe('Succeeded');
  });

  it('watches my active jobs while the list shows other ones', async () => {
    const mine = job({ group: 'research' });
    client.jobs = [mine];
    const finished: IJob[] = [];
    model.jobFinished.connect((_, j) => finished.push(j));
    await model.watchMine();
    client.set(mine.id, { status: 'Failed', message: 'Exited with code 1' });
    await model.watchMine();
    expect(finished.map(j => j.status)).toEqual(['Failed']);
    const watch = client.calls[client.calls.length - 1];
    expect(watch.filters.mine).toBe(true);
    expect(watch.filters.statuses).toEqual(['Pending', 'Preparing', 'Running']);
  });

  it('puts a created job at the top and follows it to its end', async () => {
    await model.refresh();
    const finished: IJob[] = [];
    model.jobFinished.connect((_, j) => finished.push(j));
    const created = await model.create({
      name: 'new',
      group: 'research',
      instance_type: 'cpu-1',
      image: 'python',
      command: 'true'
    });
    expect(model.jobs[0].id).toBe(created.id);
    client.set(created.id, { status: 'Succeeded' });
    await model.refresh();
    expect(finished.map(j => j.id)).toEqual([created.id]);
  });

  it('cancels and reruns', async () => {
    const running = job();
    client.jobs = [running];
    await model.refresh();
    const cancelled = await model.cancel(running.id);
    expect(cancelled.status).toBe('Cancelled');
    expect(model.find(running.id)?.status).toBe('Cancelled');
    const rerun = await model.rerun(running.id);
    expect(rerun.rerun_of).toBe(running.id);
    expect(model.jobs[0].id).toBe(rerun.id);
  });

  it('polls only while the panel is visible', async () => {
    client.jobs = [job()];
    const polled = new JobsModel({ client, pollInterval: 1 });
    try {
      await new Promise(resolve => setTimeout(resolve, 100));
      const listCalls = () => client.calls.filter(c => !c.filters.mine).length;
      expect(listCalls()).toBe(0);
      polled.setVisible(true);
      await new Promise(resolve => setTimeout(resolve, 100));
      expect(listCalls()).toBe(1);
      expect(polled.jobs).toHaveLength(1);
    } finally {
      polled.dispose();
    }
  });

  it('backs off while the server fails', async () => {
    jest.useFakeTimers();
    try {
      client.failWith = new ServerUnreachableError(new TypeError('down'));
      let attempts = 0;
      const original = client.options.bind(client);
      client.options = () => {
        attempts += 1;
        return original();
      };
      const polled = new JobsModel({ client, pollInterval: 1, maxBackoff: 30 });
      polled.watchEnabled = false;
      polled.setVisible(true);
      for (let i = 0; i < 60; i++) {
        await jest.advanceTimersByTimeAsync(1000);
      }
      polled.dispose();
      // Without backoff: ~60 attempts in 60 s at a 1 s interval (plus the watcher's).
      expect(attempts).toBeGreaterThan(2);
      expect(attempts).toBeLessThan(25);
    } finally {
      jest.useRealTimers();
    }
  });
});
