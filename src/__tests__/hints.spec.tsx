/**
 * What the forms and the log say about the administrator's limits and the group's
 * data: the run-time limit, the log retention and the datasets a command can read.
 */
import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';

import { IJob, IOptions, JobsAPI, JobsAPIError } from '../api';
import { CreateJobForm } from '../components/CreateJobForm';
import { LogViewer } from '../components/LogViewer';
import { ScheduleForm } from '../components/ScheduleForm';
import { SchedulesAPI } from '../schedules/api';
import { host, render } from './dom';
import { OPTIONS } from './fixtures';

const trans = nullTranslator.load('jupyterlab_jobs');

/** Research has two datasets, Operations none. */
const TWO_GROUPS: IOptions = {
  ...OPTIONS,
  groups: [
    { ...OPTIONS.groups[0], datasets: ['mnist', 'imagenet'] },
    { ...OPTIONS.groups[0], name: 'ops', display_name: 'Operations' }
  ]
};

function renderForm(options: IOptions): void {
  render(
    <CreateJobForm
      options={options}
      submit={async () => ({}) as IJob}
      onSubmitted={() => undefined}
      onCancel={() => undefined}
      trans={trans}
    />
  );
}

function chooseGroup(name: string): void {
  const select = host.querySelector(
    'select#jp-Jobs-create-group'
  ) as HTMLSelectElement;
  React.act(() => {
    select.value = name;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

function commandHint(): HTMLElement {
  return host.querySelector('.jp-Jobs-commandHint') as HTMLElement;
}

describe('the Command hint of the Create Job form', () => {
  it('names the run-time limit from the options', () => {
    renderForm(OPTIONS);
    expect(commandHint().textContent).toContain(
      'A job that runs longer than 24 hours is stopped and marked Failed.'
    );
    renderForm({ ...OPTIONS, max_runtime_seconds: 2 * 3600 });
    expect(commandHint().textContent).toContain(
      'A job that runs longer than 2 hours is stopped and marked Failed.'
    );
  });

  it("lists the chosen group's datasets as paths, and says when it has none", () => {
    renderForm(TWO_GROUPS);
    const hint = commandHint();
    expect(hint.textContent).toContain(
      'Runs with bash in a fresh, temporary working directory.'
    );
    expect(
      Array.from(hint.querySelectorAll('code')).map(c => c.textContent)
    ).toEqual([
      'research/',
      'datasets/mnist',
      'datasets/imagenet',
      'python -u'
    ]);
    expect(hint.querySelector('.jp-Jobs-datasetsHint')?.textContent).toBe(
      "The group's datasets are at datasets/mnist, datasets/imagenet."
    );

    chooseGroup('ops');
    expect(
      Array.from(commandHint().querySelectorAll('code')).map(c => c.textContent)
    ).toEqual(['ops/', 'python -u']);
    expect(commandHint().textContent).toContain('This group has no datasets.');
    expect(commandHint().textContent).not.toContain('datasets/');
  });

  it('speaks of one dataset in the singular', () => {
    renderForm({
      ...OPTIONS,
      groups: [{ ...OPTIONS.groups[0], datasets: ['mnist'] }]
    });
    expect(
      commandHint().querySelector('.jp-Jobs-datasetsHint')?.textContent
    ).toBe("The group's dataset is at datasets/mnist.");
  });
});

describe('the Command hint of the schedule form', () => {
  it('says the same as the Create Job form: datasets and run-time limit', () => {
    const api = {
      preview: async () => ({ description: '', next_runs: [], warnings: [] })
    } as unknown as SchedulesAPI;
    render(
      <ScheduleForm
        api={api}
        options={TWO_GROUPS}
        onSaved={() => undefined}
        onCancel={() => undefined}
        trans={trans}
      />
    );
    const hint = host.querySelector(
      '#jp-Jobs-schedule-command ~ .jp-Jobs-commandHint'
    );
    expect(hint?.textContent).toContain(
      "The group's datasets are at datasets/mnist, datasets/imagenet."
    );
    expect(hint?.textContent).toContain(
      'A job that runs longer than 24 hours is stopped and marked Failed.'
    );
  });
});

describe('the log of a job whose logs are gone', () => {
  /** The log viewer of a finished job whose logs are gone; the server answers
   * `readLogs` with ``failure``. Returns the notice's text once it has answered. */
  const goneNotice = async (failure: Error): Promise<string> => {
    const api = {
      readLogs: () => Promise.reject(failure)
    } as unknown as JobsAPI;
    render(
      <LogViewer
        api={api}
        jobId="job1"
        jobName="old job"
        logsAvailable={false}
        logRetentionSeconds={OPTIONS.log_retention_seconds}
        maxLines={100}
        trans={trans}
      />
    );
    await React.act(async () => {
      await Promise.resolve();
    });
    return host.querySelector('.jp-Jobs-logsGone')?.textContent ?? '';
  };

  it('says how long logs are kept in days when the server cannot say why', async () => {
    const notice = await goneNotice(new Error('offline'));
    expect(notice).toContain('removed by the retention policy');
    expect(notice).toContain('Logs are kept for 7 days after a job ends.');
  });

  it("shows the server's words for a log removed early, not the retention policy's", async () => {
    const notice = await goneNotice(
      new JobsAPIError(
        new Response(null, { status: 410 }),
        "The log of job 'old job' was removed (not by the retention policy); its output is lost."
      )
    );
    expect(notice).toContain('its output is lost.');
    expect(notice).not.toContain('Logs are kept for');
  });
});
