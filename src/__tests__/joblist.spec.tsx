/**
 * The rows of the job list in both layouts: the group as the filter names it, why a
 * job is in its status on hovering the badge, and the schedule that started it.
 */
import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';

import { IJob, IJobList, IJobRequest, IOptions } from '../api';
import { JobList } from '../components/JobList';
import { IJobsClient, JobsModel } from '../model';
import { host, render } from './dom';
import { OPTIONS } from './fixtures';

const trans = nullTranslator.load('jupyterlab_jobs');

const PENDING: IJob = {
  id: 'job1',
  name: 'train',
  status: 'Pending',
  message: 'Waiting for a GPU: all 2 are in use',
  user: 'alice',
  group: 'research',
  instance_type: 'cpu-1',
  image: 'python',
  command: 'true',
  schedule: { id: 'sched1', name: 'nightly' },
  created_at: '2026-01-01T00:00:00.000Z',
  started_at: null,
  finished_at: null,
  duration_seconds: null,
  exit_code: null,
  logs_available: true,
  rerun_of: null
};

/** A finished job of a group the options no longer list, with no message. */
const ORPHAN: IJob = {
  ...PENDING,
  id: 'job2',
  status: 'Succeeded',
  message: '',
  group: 'old-team',
  schedule: null
};

class TwoJobsClient implements IJobsClient {
  async options(): Promise<IOptions> {
    return OPTIONS;
  }
  async listJobs(): Promise<IJobList> {
    return { jobs: [PENDING, ORPHAN], next_cursor: null };
  }
  async getJob(id: string): Promise<IJob> {
    return id === ORPHAN.id ? ORPHAN : PENDING;
  }
  async createJob(request: IJobRequest): Promise<IJob> {
    return { ...PENDING, ...request };
  }
  async cancelJob(): Promise<IJob> {
    return PENDING;
  }
  async rerunJob(): Promise<IJob> {
    return ORPHAN;
  }
}

/** The list's measured width decides its layout; jsdom measures nothing. */
function withListWidth(width: number): () => void {
  const descriptor = Object.getOwnPropertyDescriptor(
    HTMLElement.prototype,
    'clientWidth'
  );
  Object.defineProperty(HTMLElement.prototype, 'clientWidth', {
    configurable: true,
    get: () => width
  });
  return () => {
    if (descriptor) {
      Object.defineProperty(HTMLElement.prototype, 'clientWidth', descriptor);
    }
  };
}

const opened: string[] = [];
let model: JobsModel;

afterEach(() => model.dispose());

async function renderList(width: number): Promise<void> {
  const restore = withListWidth(width);
  model = new JobsModel({
    client: new TwoJobsClient(),
    autoStart: false,
    trans
  });
  try {
    await model.refresh();
    render(
      <JobList
        model={model}
        trans={trans}
        onCreate={() => undefined}
        onOpen={() => undefined}
        onCancel={() => undefined}
        onRerun={() => undefined}
        onOpenSchedule={id => opened.push(id)}
      />
    );
  } finally {
    restore();
  }
}

function row(job: IJob): HTMLElement {
  return host.querySelector(`[data-job-id="${job.id}"]`) as HTMLElement;
}

describe.each([
  ['wide', 1000, 'jp-Jobs-row'],
  ['narrow', 300, 'jp-Jobs-compactRow']
])('the job list, %s', (_layout, width, rowClass) => {
  beforeEach(async () => {
    opened.length = 0;
    await renderList(width);
  });

  it("shows the group's display name, its name on hover", () => {
    expect(row(PENDING).classList).toContain(rowClass);
    const group = row(PENDING).querySelector('.jp-Jobs-group') as HTMLElement;
    expect(group.textContent).toBe('Research');
    expect(group.title).toContain('research');
    // A group the options do not list: its name.
    expect(row(ORPHAN).querySelector('.jp-Jobs-group')?.textContent).toBe(
      'old-team'
    );
  });

  it("gives the status badge the job's message as its tooltip", () => {
    const badge = row(PENDING).querySelector('.jp-Jobs-status') as HTMLElement;
    expect(badge.textContent).toBe('Pending');
    expect(badge.title).toBe('Waiting for a GPU: all 2 are in use');
    expect(
      row(ORPHAN).querySelector('.jp-Jobs-status')?.hasAttribute('title')
    ).toBe(false);
  });

  it('links to the schedule that started a job', () => {
    const link = row(PENDING).querySelector(
      '.jp-Jobs-scheduleLink'
    ) as HTMLButtonElement;
    expect(link.textContent).toBe('nightly');
    React.act(() => link.click());
    expect(opened).toEqual(['sched1']);
    expect(row(ORPHAN).querySelector('.jp-Jobs-scheduleLink')).toBeNull();
  });
});
