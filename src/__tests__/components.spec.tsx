/**
 * The shared pieces of the forms and detail pages, rendered into the DOM: what the
 * browser tests select by (classes, ids, names, roles) and what reaches the callbacks.
 */
import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';

import { JobsAPIError } from '../api';
import {
  BackHeader,
  DetailPlaceholder,
  IDetailPlaceholderProps
} from '../components/DetailPlaceholder';
import {
  FormButtons,
  FormError,
  SelectField,
  TextField
} from '../components/FormParts';
import { RecurrenceFields } from '../components/RecurrenceFields';
import { ScheduleDetail } from '../components/ScheduleDetail';
import { IPreview, SchedulesAPI } from '../schedules/api';
import { Preset } from '../schedules/presets';
import { host, render, type } from './dom';

const trans = nullTranslator.load('jupyterlab_jobs');

describe('DetailPlaceholder', () => {
  const base: IDetailPlaceholderProps = {
    header: <div className="the-header" />,
    notFound: false,
    notFoundText: 'It is gone.',
    error: null,
    loadingText: 'Loading it…'
  };

  it('says it is loading while there is neither an answer nor an error', () => {
    render(<DetailPlaceholder {...base} />);
    expect(host.querySelector('.jp-Jobs-detail .the-header')).not.toBeNull();
    expect(host.querySelector('.jp-Jobs-loading')?.textContent).toBe(
      'Loading it…'
    );
    expect(host.querySelector('[role="alert"]')).toBeNull();
    expect(host.querySelector('.jp-Jobs-empty')).toBeNull();
  });

  it('shows the load error as an alert instead of the loading line', () => {
    render(<DetailPlaceholder {...base} error="Server said no" />);
    const alert = host.querySelector('.jp-Jobs-banner-error');
    expect(alert?.getAttribute('role')).toBe('alert');
    expect(alert?.textContent).toBe('Server said no');
    expect(host.querySelector('.jp-Jobs-loading')).toBeNull();
  });

  it('says the record does not exist, even when an error came with the 404', () => {
    render(<DetailPlaceholder {...base} notFound error="Not found" />);
    expect(host.querySelector('.jp-Jobs-empty')?.textContent).toBe(
      'It is gone.'
    );
    expect(host.querySelector('.jp-Jobs-loading')).toBeNull();
    expect(host.querySelector('[role="alert"]')).toBeNull();
  });
});

describe('BackHeader', () => {
  it('is a non-submitting back button with its icon and label', () => {
    let backs = 0;
    render(
      <form onSubmit={() => fail('the back button submitted the form')}>
        <BackHeader label="Jobs" title="Back" onBack={() => (backs += 1)} />
      </form>
    );
    const button = host.querySelector(
      '.jp-Jobs-detailHeader button.jp-Jobs-back'
    ) as HTMLButtonElement;
    expect(button.textContent).toBe('Jobs');
    expect(button.title).toBe('Back');
    expect(button.type).toBe('button');
    expect(button.querySelector('.jp-Jobs-buttonIcon')).not.toBeNull();
    React.act(() => button.click());
    expect(backs).toBe(1);
  });
});

describe('TextField', () => {
  it('labels its input, reports what is typed and shows its error', () => {
    const typed: string[] = [];
    render(
      <TextField
        id="jp-Jobs-test-name"
        name="name"
        label="Job name"
        value=""
        onChange={value => typed.push(value)}
        error="Give it a name"
      />
    );
    const label = host.querySelector('.jp-Jobs-field label');
    expect(label?.getAttribute('for')).toBe('jp-Jobs-test-name');
    const input = host.querySelector('#jp-Jobs-test-name') as HTMLInputElement;
    expect(input.tagName).toBe('INPUT');
    expect(input.name).toBe('name');
    type(input, 'train');
    expect(typed).toEqual(['train']);
    const error = host.querySelector('.jp-Jobs-fieldError');
    expect(error?.getAttribute('data-field')).toBe('name');
    expect(error?.getAttribute('role')).toBe('alert');
    expect(error?.textContent).toBe('Give it a name');
  });

  it('is a code text area with rows, its hint before the error, none when valid', () => {
    render(
      <TextField
        id="jp-Jobs-test-command"
        name="command"
        label="Command"
        rows={4}
        value="echo hi"
        onChange={() => undefined}
      >
        <div className="jp-Jobs-hint">hint</div>
      </TextField>
    );
    const area = host.querySelector(
      'textarea#jp-Jobs-test-command'
    ) as HTMLTextAreaElement;
    expect(area.className).toBe('jp-Jobs-command');
    expect(area.rows).toBe(4);
    expect(area.value).toBe('echo hi');
    expect(area.nextElementSibling?.className).toBe('jp-Jobs-hint');
    expect(host.querySelector('.jp-Jobs-fieldError')).toBeNull();
  });
});

describe('SelectField', () => {
  it('reports the chosen value and keeps id and name', () => {
    const chosen: string[] = [];
    render(
      <SelectField
        id="jp-Jobs-test-group"
        name="group"
        label="Group"
        value="a"
        onChange={value => chosen.push(value)}
        options={[
          { label: 'A', value: 'a' },
          { label: 'B', value: 'b' }
        ]}
        error="Not yours"
      />
    );
    const select = host.querySelector(
      'select#jp-Jobs-test-group'
    ) as HTMLSelectElement;
    expect(select.name).toBe('group');
    React.act(() => {
      select.value = 'b';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(chosen).toEqual(['b']);
    expect(
      host.querySelector('.jp-Jobs-fieldError[data-field="group"]')?.textContent
    ).toBe('Not yours');
  });
});

describe('FormError and FormButtons', () => {
  it('shows the form error only when there is one', () => {
    render(<FormError message={null} />);
    expect(host.querySelector('.jp-Jobs-formError')).toBeNull();
    render(<FormError message="The server is down" />);
    const error = host.querySelector('.jp-Jobs-formError');
    expect(error?.getAttribute('role')).toBe('alert');
    expect(error?.textContent).toBe('The server is down');
  });

  it('cancels without submitting and disables the submit button while busy', () => {
    let cancelled = 0;
    let submitted = 0;
    const form = (busy: boolean) => (
      <form
        onSubmit={e => {
          e.preventDefault();
          submitted += 1;
        }}
      >
        <FormButtons
          submitLabel="Save"
          busy={busy}
          onCancel={() => (cancelled += 1)}
          trans={trans}
        />
      </form>
    );
    render(form(false));
    const [cancel, submit] = Array.from(
      host.querySelectorAll('.jp-Jobs-formButtons button')
    ) as HTMLButtonElement[];
    expect(cancel.textContent).toBe('Cancel');
    expect(submit.className).toContain('jp-Jobs-submit');
    expect(submit.textContent).toBe('Save');
    React.act(() => cancel.click());
    expect([cancelled, submitted]).toEqual([1, 0]);
    React.act(() => submit.click());
    expect(submitted).toBe(1);
    expect(host.querySelector('.jp-Jobs-formError')).toBeNull();
    render(form(true));
    expect(submit.disabled).toBe(true);
  });

  it("shows the form's error above its buttons", () => {
    render(
      <FormButtons
        error="Quota exceeded"
        submitLabel="Submit"
        busy={false}
        onCancel={() => undefined}
        trans={trans}
      />
    );
    const error = host.querySelector('.jp-Jobs-formError');
    expect(error?.textContent).toBe('Quota exceeded');
    expect(error?.nextElementSibling?.className).toBe('jp-Jobs-formButtons');
  });
});

describe('ScheduleDetail before it has its schedule', () => {
  const refused = (status: number, message: string) =>
    Promise.reject(
      new JobsAPIError(new Response(message, { status }), message)
    );
  const detail = (api: Partial<SchedulesAPI>) => (
    <ScheduleDetail
      api={
        {
          runs: () => Promise.resolve({ runs: [] }),
          ...api
        } as SchedulesAPI
      }
      scheduleId="s1"
      user="alice"
      onBack={() => undefined}
      onOpenJob={() => undefined}
      onEdit={() => undefined}
      onDeleted={() => undefined}
      onChanged={() => undefined}
      trans={trans}
    />
  );
  const settle = () =>
    React.act(() => new Promise(resolve => setTimeout(resolve, 0)));

  it('says a schedule the server does not know does not exist', async () => {
    render(detail({ get: () => refused(404, 'No such schedule') }));
    await settle();
    expect(host.querySelector('.jp-Jobs-empty')?.textContent).toMatch(
      /^This schedule does not exist/
    );
    expect(host.querySelector('.jp-Jobs-back')?.textContent).toBe('Schedules');
  });

  it('shows any other failure as an alert', async () => {
    render(detail({ get: () => refused(500, 'Database is locked') }));
    await settle();
    expect(host.querySelector('[role="alert"]')?.textContent).toBe(
      'Database is locked'
    );
    expect(host.querySelector('.jp-Jobs-empty')).toBeNull();
  });

  it('says it is loading until the server answers', async () => {
    render(detail({ get: () => new Promise(() => undefined) }));
    await settle();
    expect(host.querySelector('.jp-Jobs-loading')?.textContent).toBe(
      'Loading…'
    );
  });
});

describe('RecurrenceFields', () => {
  /** The fields with their state, as the schedule form holds it. */
  function Recurrence(props: { preview: SchedulesAPI['preview'] }) {
    const [preset, setPreset] = React.useState<Preset>({
      kind: 'custom',
      cron: '0 9 * * *'
    });
    const [timezone, setTimezone] = React.useState('UTC');
    return (
      <RecurrenceFields
        api={{ preview: props.preview } as SchedulesAPI}
        preset={preset}
        onPresetChange={setPreset}
        timezone={timezone}
        onTimezoneChange={setTimezone}
        errors={{}}
        trans={trans}
      />
    );
  }
  const wait = (ms: number) =>
    React.act(() => new Promise(resolve => setTimeout(resolve, ms)));

  it('asks the server once the user stops typing, and shows its answer', async () => {
    const asked: string[] = [];
    const answer: IPreview = {
      description: 'At 09:30',
      next_runs: ['2030-01-01T09:30:00Z'],
      warnings: ['Runs in UTC']
    };
    render(
      <Recurrence
        preview={async (cron: string) => {
          asked.push(cron);
          return answer;
        }}
      />
    );
    const cron = host.querySelector(
      '#jp-Jobs-schedule-cron'
    ) as HTMLInputElement;
    type(cron, '30 9 * * ');
    type(cron, '30 9 * * *');
    await wait(400);
    expect(asked).toEqual(['30 9 * * *']);
    expect(host.querySelector('.jp-Jobs-cronText')?.textContent).toBe(
      '30 9 * * *'
    );
    expect(host.querySelector('.jp-Jobs-description')?.textContent).toBe(
      'At 09:30'
    );
    expect(host.querySelectorAll('.jp-Jobs-nextRuns li')).toHaveLength(1);
    expect(host.querySelector('[role="note"]')?.textContent).toBe(
      'Runs in UTC'
    );
  });

  it("replaces the preview by the server's objection under the cron", async () => {
    render(
      <Recurrence
        preview={async (cron: string) => {
          if (cron.startsWith('61')) {
            throw new JobsAPIError(
              new Response(null, { status: 400 }),
              'Minute 61 is out of range'
            );
          }
          return { description: 'At 09:00', next_runs: [], warnings: [] };
        }}
      />
    );
    await wait(400);
    expect(host.querySelector('.jp-Jobs-description')).not.toBeNull();
    type(
      host.querySelector('#jp-Jobs-schedule-cron') as HTMLInputElement,
      '61 9 * * *'
    );
    await wait(400);
    expect(host.querySelector('.jp-Jobs-description')).toBeNull();
    expect(
      host.querySelector('.jp-Jobs-fieldError[data-field="cron"]')?.textContent
    ).toBe('Minute 61 is out of range');
  });
});
