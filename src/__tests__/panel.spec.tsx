/**
 * The Jobs panel rendered with a test translation: every word on screen comes from the
 * translator (marked ⟪...⟫ here) or is data (job names, users, groups, ...).
 */
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { IJob, IJobList, IJobRequest, IOptions, JobsAPI } from '../api';
import { IJobsClient, JobsModel } from '../model';
import { JobsPanel } from '../panel';

/** A translator that marks every message it translates: ⟪message⟫. */
function markingTranslator(): ITranslator {
  return {
    languageCode: 'xx-MARK',
    load(domain: string): TranslationBundle {
      const english = nullTranslator.load(domain);
      return {
        ...english,
        __: (msgid: string, ...args: any[]) =>
          `⟪${english.__(msgid, ...args)}⟫`,
        _n: (msgid: string, plural: string, n: number, ...args: any[]) =>
          `⟪${english._n(msgid, plural, n, ...args)}⟫`,
        _p: (context: string, msgid: string, ...args: any[]) =>
          `⟪${english._p(context, msgid, ...args)}⟫`
      };
    }
  };
}

const OPTIONS: IOptions = {
  user: 'alice',
  groups: [
    {
      name: 'alice',
      display_name: 'alice',
      instance_types: ['this-machine'],
      images: ['server-environment'],
      datasets: []
    }
  ],
  instance_types: [
    {
      name: 'this-machine',
      display_name: 'mymachine',
      description: '',
      cpu: 2,
      memory: '4096Mi',
      gpu: 0
    }
  ],
  images: [
    { name: 'server-environment', display_name: 'myenv', description: '' }
  ],
  max_runtime_seconds: 86400,
  log_retention_seconds: 604800,
  default_setup: true
};

const JOB: IJob = {
  id: 'job1',
  name: 'myjob',
  status: 'Succeeded',
  message: '',
  user: 'alice',
  group: 'alice',
  instance_type: 'this-machine',
  image: 'server-environment',
  command: 'true',
  schedule: null,
  created_at: '2026-01-01T00:00:00.000Z',
  started_at: '2026-01-01T00:00:01.000Z',
  finished_at: '2026-01-01T00:00:03.000Z',
  duration_seconds: 2,
  exit_code: 0,
  logs_available: false,
  rerun_of: null
};

/** What the detail reads besides the job: its resource use and artifacts (and why its
 * logs are gone: not answered here, so the viewer says it in its own words). */
const DETAIL_API = {
  readLogs: () => Promise.reject(new Error('not served in this test')),
  getUsage: async () => ({
    available: true,
    samples: [
      { t: 1, cpu: 0.5, memory_bytes: 1024 },
      { t: 2, cpu: 1, memory_bytes: 2048 }
    ],
    peak_memory_bytes: 2048,
    cpu_seconds: 1.5,
    memory_limit_bytes: 4096,
    message: ''
  }),
  listArtifacts: async () => ({
    available: true,
    artifacts: [{ path: 'plots/loss.png', size: 2048, modified: 1 }],
    truncated: true,
    omitted: [{ path: 'big.bin', size: 4096, reason: 'over the size limit' }],
    message: ''
  })
} as unknown as JobsAPI;

class OneJobClient implements IJobsClient {
  async options(): Promise<IOptions> {
    return OPTIONS;
  }
  async listJobs(): Promise<IJobList> {
    return { jobs: [{ ...JOB }], next_cursor: null };
  }
  async getJob(): Promise<IJob> {
    return { ...JOB };
  }
  async createJob(request: IJobRequest): Promise<IJob> {
    return { ...JOB, ...request };
  }
  async cancelJob(): Promise<IJob> {
    return { ...JOB };
  }
  async rerunJob(): Promise<IJob> {
    return { ...JOB };
  }
}

/**
 * Shown as it is, never translated: the data above, the browser's date format (AM/PM),
 * and the example command of the Command field (code).
 */
const DATA = new Set([
  ...['alice', 'myjob', 'mymachine', 'myenv', 'true', 'job1'],
  ...['AM', 'PM'],
  ...['cd', 'python', '-u', 'train.py']
]);

/** `text` without the translator's ⟪...⟫, nested ones included. */
function withoutTranslations(text: string): string {
  let rest = text;
  for (let before = ''; before !== rest;) {
    before = rest;
    rest = rest.replace(/⟪[^⟪⟫]*⟫/g, '');
  }
  return rest;
}

/**
 * Text nodes and user-facing attributes of `root` that have letters but came neither
 * from the translator nor from the data.
 */
function untranslated(root: HTMLElement): string[] {
  const found: string[] = [];
  const check = (text: string) => {
    const rest = withoutTranslations(text)
      .split(/[\s(),·:/]+/)
      .filter(word => /[A-Za-z]/.test(word) && !DATA.has(word));
    if (rest.length > 0) {
      found.push(text);
    }
  };
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement?.closest('code')) {
      continue; // code (a path, a command), not words
    }
    // A translation with a placeholder may be split over several text nodes.
    const parent = node.parentElement;
    check(
      parent && parent.childNodes.length > 1
        ? (parent.textContent ?? '')
        : (node.textContent ?? '')
    );
  }
  root
    .querySelectorAll('[title], [placeholder], [aria-label]')
    .forEach(element => {
      for (const name of ['title', 'placeholder', 'aria-label']) {
        const value = element.getAttribute(name);
        if (value && !(name === 'title' && DATA.has(value))) {
          check(value);
        }
      }
    });
  return found;
}

async function settle(panel: JobsPanel, until: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !until(); i++) {
    MessageLoop.sendMessage(panel, Widget.Msg.UpdateRequest);
    await panel.renderPromise;
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}

describe('JobsPanel with a test translation', () => {
  let panel: JobsPanel;
  let model: JobsModel;
  let docsOpened = 0;

  beforeEach(async () => {
    model = new JobsModel({
      client: new OneJobClient(),
      autoStart: false,
      trans: markingTranslator().load('jupyterlab_jobs')
    });
    panel = new JobsPanel({
      model,
      api: DETAIL_API,
      openPath: () => undefined,
      openConfigurationDocs: () => (docsOpened += 1),
      translator: markingTranslator()
    });
    Widget.attach(panel, document.body);
    await model.refresh();
  });

  afterEach(() => {
    Widget.detach(panel);
    panel.dispose();
    model.dispose();
  });

  it('renders the job list in the translation', async () => {
    await settle(panel, () => !!panel.node.querySelector('.jp-Jobs-jobRow'));
    const text = panel.node.textContent ?? '';
    expect(text).toContain('⟪Create Job⟫');
    expect(text).toContain('⟪Refresh⟫');
    expect(text).toContain('⟪Submitted by me⟫');
    expect(panel.node.querySelector('.jp-Jobs-status')?.textContent).toBe(
      '⟪Succeeded⟫'
    );
    expect(panel.title.caption).toBe('⟪Jobs⟫');
    expect(untranslated(panel.node)).toEqual([]);
  });

  it('says in one translated line that this is the default setup', async () => {
    await settle(
      panel,
      () => !!panel.node.querySelector('.jp-Jobs-defaultSetup')
    );
    const notice = panel.node.querySelector('.jp-Jobs-defaultSetup');
    expect(notice?.textContent).toMatch(/^⟪Default setup: .*⟫ ⟪.*⟫$/);
    const link = notice?.querySelector('button') as HTMLButtonElement;
    link.click();
    expect(docsOpened).toBe(1);
  });

  it('renders the Create Job form in the translation', async () => {
    panel.showCreate();
    await settle(panel, () => !!panel.node.querySelector('form.jp-Jobs-form'));
    const form = panel.node.querySelector('form.jp-Jobs-form') as HTMLElement;
    expect(form.textContent).toContain('⟪Instance type⟫');
    expect(
      form.querySelector('#jp-Jobs-create-name')?.getAttribute('placeholder')
    ).toBe('⟪e.g. train model⟫');
    // The group's directory, in <code>, inside the translated hint.
    expect(form.querySelector('.jp-Jobs-hint code')?.textContent).toBe(
      'alice/'
    );
    expect(untranslated(form)).toEqual([]);
  });

  it("renders a job's detail in the translation", async () => {
    panel.showDetail(JOB.id);
    await settle(panel, () => !!panel.node.querySelector('.jp-Jobs-fields'));
    const detail = panel.node.querySelector('.jp-Jobs-detail') as HTMLElement;
    expect(detail.textContent).toContain('⟪Clone to form⟫');
    expect(detail.textContent).toContain('⟪Exit code⟫');
    expect(detail.textContent).toContain('⟪2s⟫');
    // Its resource use and artifacts, also through the translator.
    await settle(
      panel,
      () =>
        !!panel.node.querySelector('.jp-Jobs-usageSummary') &&
        !!panel.node.querySelector('.jp-Jobs-artifactTable')
    );
    expect(detail.textContent).toContain('⟪Resource use⟫');
    expect(detail.textContent).toContain('⟪peak ⟪2 KiB⟫ of ⟪4 KiB⟫⟫');
    expect(detail.textContent).toContain('⟪over the size limit⟫');
    expect(untranslated(detail)).toEqual([]);
  });
});
