import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { errorMessage, IJob, IJobRequest, IOptions } from './api';
import {
  ChoiceFields,
  consistentChoices,
  serverErrors
} from './components/CreateJobForm';
import { FormError, TextField } from './components/FormParts';
import { slot, withNodes } from './components/translated';
import { JobsModel } from './model';
import { parametersOfNotebook, parseParameters } from './parameters';
import { FieldErrors, validateJobRequest } from './validation';

/** What the Submit-notebook dialog asks. */
export interface INotebookJobValue {
  group: string;
  instance_type: string;
  image: string;
  name: string;
  parameters: string;
}

type NotebookJobErrors = FieldErrors & { parameters?: string; form?: string };

/** Where the dialog's parameters came from: a cloned job, the notebook, nowhere. */
type ParametersSource = 'job' | 'cell' | 'none';

/** The errors of the dialog's values, by field. */
export function validateNotebookJob(
  value: INotebookJobValue,
  options: IOptions,
  trans: TranslationBundle
): NotebookJobErrors {
  const errors: NotebookJobErrors = validateJobRequest(
    {
      name: value.name,
      group: value.group,
      instance_type: value.instance_type,
      image: value.image
    },
    options,
    false,
    trans
  );
  const parsed = parseParameters(value.parameters, trans);
  if (parsed.errors.length > 0) {
    errors.parameters = parsed.errors.map(e => e.message).join('; ');
  }
  return errors;
}

/** The dialog's body: group, instance type, image, job name, parameters. */
class NotebookJobBody
  extends ReactWidget
  implements Dialog.IBodyWidget<INotebookJobValue>
{
  constructor(
    private readonly _options: IOptions,
    private _value: INotebookJobValue,
    private readonly _path: string,
    private readonly _prefill: ParametersSource,
    private _errors: NotebookJobErrors,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-Jobs-notebookDialog');
  }

  getValue(): INotebookJobValue {
    return this._value;
  }

  render(): JSX.Element {
    const value = this._value;
    const errors = this._errors;
    const trans = this._trans;
    const set = (patch: Partial<INotebookJobValue>) => {
      this._value = { ...this._value, ...patch };
      // The server's errors go away as the field they are about is edited; the
      // client's checks are redone at every change.
      const remaining = { ...this._errors };
      for (const key of [...Object.keys(patch), 'form']) {
        delete remaining[key as keyof NotebookJobErrors];
      }
      const live = validateNotebookJob(this._value, this._options, trans);
      this._errors = { ...remaining, ...live };
      // Synchronously, before the dialog's own input handler looks for it: a
      // `.jp-mod-error` inside a dialog disables its accept button.
      this.toggleClass('jp-mod-error', Object.keys(live).length > 0);
      this.update();
    };
    return (
      <div className="jp-Jobs-form jp-Jobs-notebookForm">
        <div className="jp-Jobs-hint">
          {withNodes(
            trans.__(
              "Runs a snapshot of %1 taken now; later edits do not change this run. The executed notebook is saved in the group's directory.",
              slot(0)
            ),
            <code>{this._path}</code>
          )}
        </div>
        <ChoiceFields
          idPrefix="jp-Jobs-notebook"
          trans={trans}
          options={this._options}
          value={value}
          errors={errors}
          onChange={choices => set(choices)}
        />
        <TextField
          id="jp-Jobs-notebook-name"
          name="name"
          label={trans.__('Job name')}
          value={value.name}
          onChange={name => set({ name })}
          error={errors.name}
        />
        <TextField
          id="jp-Jobs-notebook-parameters"
          name="parameters"
          label={trans.__('Parameters')}
          rows={5}
          value={value.parameters}
          placeholder={trans.__('alpha = 0.5\nepochs = 3\nlabel = first run')}
          onChange={parameters => set({ parameters })}
          error={errors.parameters}
        >
          <div className="jp-Jobs-hint">
            {withNodes(
              trans.__(
                'One %1 per line. Values that are JSON (%2) are passed as such, anything else as a string.',
                slot(0),
                slot(1)
              ),
              <code>name = value</code>,
              <>
                <code>3</code>, <code>true</code>, <code>"text"</code>,{' '}
                <code>[1, 2]</code>
              </>
            )}{' '}
            {this._prefill === 'job'
              ? trans.__('Prefilled from the job you cloned.')
              : this._prefill === 'cell'
                ? trans.__("Prefilled from the notebook's parameters cell.")
                : trans.__(
                    'The notebook has no cell tagged "parameters": the values are injected at its top.'
                  )}
          </div>
        </TextField>
        <FormError message={errors.form || errors.command} />
      </div>
    );
  }
}

export interface ISubmitNotebookOptions {
  model: JobsModel;
  /** The notebook's path relative to the Jupyter root directory. */
  path: string;
  /** The notebook's content (nbformat JSON), to prefill the parameters. */
  content: unknown;
  defaultGroup: string;
  /** Show the new job (opens the Jobs panel on its detail). */
  showJob: (id: string) => void;
  trans: TranslationBundle;
  /** Values to start with instead of the notebook's (Clone to form of a job). */
  initial?: Partial<INotebookJobValue>;
  /** "Run: on a schedule" (or "both"): open the schedule form with this job. */
  scheduleJob?: (request: IJobRequest) => void;
}

/**
 * Ask for the job's settings and submit the notebook; asks again, with the server's
 * message next to its field, when the submission is refused. The new job, or null when
 * the user gave up or it failed otherwise (e.g. the options could not be loaded),
 * which a notification says.
 */
export async function submitNotebookAsJob(
  args: ISubmitNotebookOptions
): Promise<IJob | null> {
  const { path, trans } = args;
  try {
    return await askAndSubmit(args);
  } catch (error) {
    Notification.error(
      trans.__(
        'Could not submit %1 as a job: %2',
        path,
        errorMessage(error, trans)
      ),
      { autoClose: 8000 }
    );
    return null;
  }
}

async function askAndSubmit(
  args: ISubmitNotebookOptions
): Promise<IJob | null> {
  const { model, path, trans, initial } = args;
  let options = model.options;
  if (!options) {
    options = await model.client.options();
  }
  if (options.groups.length === 0) {
    await showDialog({
      title: trans.__('Submit notebook as job'),
      body: trans.__('You are not a member of any group that may run jobs.'),
      buttons: [Dialog.okButton({ label: trans.__('OK') })]
    });
    return null;
  }
  const cell = initial ? '' : parametersOfNotebook(args.content);
  const source: ParametersSource = initial ? 'job' : cell ? 'cell' : 'none';
  let value: INotebookJobValue = {
    ...consistentChoices(options, initial ?? {}, args.defaultGroup),
    name: initial?.name ?? PathExt.basename(path, PathExt.extname(path)),
    parameters: initial?.parameters ?? cell
  };
  let errors: NotebookJobErrors = {};
  // "Run: on a schedule" and "both" (when the panel offers schedules).
  const scheduleLabel = trans.__('Schedule…');
  const bothLabel = trans.__('Run now and schedule…');
  for (;;) {
    const result = await showDialog<INotebookJobValue>({
      title: trans.__('Submit notebook as job'),
      body: new NotebookJobBody(options, value, path, source, errors, trans),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        ...(args.scheduleJob
          ? [
              Dialog.okButton({ label: scheduleLabel, displayType: 'default' }),
              Dialog.okButton({ label: bothLabel })
            ]
          : []),
        Dialog.okButton({ label: trans.__('Submit') })
      ],
      focusNodeSelector: '#jp-Jobs-notebook-name'
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    value = result.value;
    errors = validateNotebookJob(value, options, trans);
    if (Object.keys(errors).length > 0) {
      continue;
    }
    const request: IJobRequest = {
      name: value.name.trim(),
      group: value.group,
      instance_type: value.instance_type,
      image: value.image,
      notebook: path,
      parameters: parseParameters(value.parameters, trans).values
    };
    // Run: on a schedule (no job now), or both (this job, then the schedule form).
    const label = result.button.label;
    if (label === scheduleLabel && args.scheduleJob) {
      args.scheduleJob(request);
      return null;
    }
    try {
      const job = await model.create(request);
      if (label === bothLabel && args.scheduleJob) {
        args.scheduleJob(request);
      }
      Notification.success(trans.__('Submitted "%1" as a job', job.name), {
        autoClose: 5000,
        actions: [
          { label: trans.__('Show job'), callback: () => args.showJob(job.id) }
        ]
      });
      return job;
    } catch (error) {
      const found = serverErrors(
        error,
        ['name', 'group', 'instance_type', 'image', 'parameters'],
        trans
      );
      errors = { ...found.fields };
      if (found.form) {
        // Also the server's word on `notebook` (e.g. the file is not a notebook).
        errors.form = found.form;
      }
    }
  }
}
