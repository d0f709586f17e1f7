import { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  errorMessage,
  IInstanceTypeOption,
  IJob,
  IJobRequest,
  IOptions,
  JobsAPIError
} from '../api';
import { FieldErrors, trimRequest, validateJobRequest } from '../validation';
import { CommandHint } from './CommandHint';
import { BackHeader } from './DetailPlaceholder';
import { FormButtons, groupChoices, SelectField, TextField } from './FormParts';

/** `1 CPU · 2Gi · no GPU` */
export function describeInstanceType(
  it: IInstanceTypeOption,
  trans: TranslationBundle
): string {
  return it.gpu > 0
    ? trans.__('%1 CPU · %2 · %3 GPU', it.cpu, it.memory, it.gpu)
    : trans.__('%1 CPU · %2 · no GPU', it.cpu, it.memory);
}

/**
 * The group, instance type and image chosen so far, made consistent with `options`:
 * the group one of the user's, the instance type and image allowed by that group.
 */
export function consistentChoices(
  options: IOptions,
  wanted: { group?: string; instance_type?: string; image?: string },
  defaultGroup = ''
): { group: string; instance_type: string; image: string } {
  const names = options.groups.map(g => g.name);
  const groupName =
    [wanted.group, defaultGroup].find(g => g && names.includes(g)) ??
    names[0] ??
    '';
  const group = options.groups.find(g => g.name === groupName);
  const instanceTypes = group?.instance_types ?? [];
  const images = group?.images ?? [];
  return {
    group: groupName,
    instance_type:
      wanted.instance_type && instanceTypes.includes(wanted.instance_type)
        ? wanted.instance_type
        : (instanceTypes[0] ?? ''),
    image:
      wanted.image && images.includes(wanted.image)
        ? wanted.image
        : (images[0] ?? '')
  };
}

export interface IChoiceFieldsProps {
  options: IOptions;
  value: { group: string; instance_type: string; image: string };
  errors: FieldErrors;
  onChange: (value: {
    group: string;
    instance_type: string;
    image: string;
  }) => void;
  idPrefix: string;
  trans: TranslationBundle;
}

/** Group, then the instance types and images that group allows, with their details. */
export function ChoiceFields(props: IChoiceFieldsProps): JSX.Element {
  const { options, value, errors, idPrefix, trans } = props;
  const group = options.groups.find(g => g.name === value.group);
  const instanceTypes = (group?.instance_types ?? [])
    .map(name => options.instance_types.find(it => it.name === name))
    .filter((it): it is IInstanceTypeOption => it !== undefined);
  const images = (group?.images ?? []).map(
    name =>
      options.images.find(im => im.name === name) ?? {
        name,
        display_name: name,
        description: ''
      }
  );
  const instanceType = instanceTypes.find(
    it => it.name === value.instance_type
  );
  const image = images.find(im => im.name === value.image);
  const change = (patch: Partial<typeof value>) =>
    props.onChange(consistentChoices(options, { ...value, ...patch }));
  return (
    <>
      <SelectField
        id={`${idPrefix}-group`}
        name="group"
        label={trans.__('Group')}
        value={value.group}
        onChange={group => change({ group })}
        options={groupChoices(options)}
        error={errors.group}
      />
      <SelectField
        id={`${idPrefix}-instance-type`}
        name="instance_type"
        label={trans.__('Instance type')}
        value={value.instance_type}
        onChange={instance_type => change({ instance_type })}
        options={instanceTypes.map(it => ({
          label: `${it.display_name || it.name} (${describeInstanceType(it, trans)})`,
          value: it.name
        }))}
        error={errors.instance_type}
      >
        {instanceType && (
          <div className="jp-Jobs-hint jp-Jobs-resources">
            <span className="jp-Jobs-chip" title={trans.__('CPUs')}>
              {trans.__('%1 CPU', instanceType.cpu)}
            </span>
            <span className="jp-Jobs-chip" title={trans.__('Memory')}>
              {trans.__('%1 memory', instanceType.memory)}
            </span>
            <span className="jp-Jobs-chip" title={trans.__('GPUs')}>
              {trans.__('%1 GPU', instanceType.gpu)}
            </span>
            {instanceType.description && (
              <span>{instanceType.description}</span>
            )}
          </div>
        )}
      </SelectField>
      <SelectField
        id={`${idPrefix}-image`}
        name="image"
        label={trans.__('Image')}
        value={value.image}
        onChange={image => change({ image })}
        options={images.map(im => ({
          label: im.display_name || im.name,
          value: im.name
        }))}
        error={errors.image}
      >
        {image?.description && (
          <div className="jp-Jobs-hint">{image.description}</div>
        )}
      </SelectField>
    </>
  );
}

/** The server's answer to a submission, turned into errors by field. */
export function serverErrors(
  error: unknown,
  fields: string[],
  trans: TranslationBundle
): { fields: FieldErrors; form: string | null } {
  if (error instanceof JobsAPIError) {
    if (error.field && fields.includes(error.field)) {
      return {
        fields: { [error.field]: error.message } as FieldErrors,
        form: null
      };
    }
    if (error.status === 403) {
      return { fields: { group: error.message }, form: null };
    }
    if (error.status === 413) {
      return {
        fields: {},
        form: trans.__(
          '%1. Make the command shorter, or put it in a script file.',
          error.message
        )
      };
    }
  }
  return { fields: {}, form: errorMessage(error, trans) };
}

export interface ICreateJobFormProps {
  options: IOptions | null;
  /** Values to start with (Clone to form). */
  initial?: Partial<IJobRequest>;
  defaultGroup?: string;
  submit: (request: IJobRequest) => Promise<IJob>;
  onSubmitted: (job: IJob) => void;
  onCancel: () => void;
  /** "Run: on a schedule" (or "both", after submitting): continue in the schedule form. */
  onSchedule?: (request: IJobRequest) => void;
  trans: TranslationBundle;
}

/** The Create Job form. */
export function CreateJobForm(props: ICreateJobFormProps): JSX.Element {
  const { options, trans } = props;
  const [name, setName] = React.useState(props.initial?.name ?? '');
  const [command, setCommand] = React.useState(props.initial?.command ?? '');
  const [choices, setChoices] = React.useState(() =>
    options
      ? consistentChoices(options, props.initial ?? {}, props.defaultGroup)
      : { group: '', instance_type: '', image: '' }
  );
  React.useEffect(() => {
    if (options) {
      setChoices(c =>
        consistentChoices(
          options,
          c.group ? c : (props.initial ?? {}),
          props.defaultGroup
        )
      );
    }
  }, [options]);
  const [submitted, setSubmitted] = React.useState(false);
  const [serverFieldErrors, setServerFieldErrors] = React.useState<FieldErrors>(
    {}
  );
  const [formError, setFormError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const [runWhen, setRunWhen] = React.useState<'now' | 'schedule' | 'both'>(
    'now'
  );

  if (!options) {
    return (
      <div className="jp-Jobs-form jp-Jobs-loading">
        {trans.__('Loading your groups…')}
      </div>
    );
  }
  if (options.groups.length === 0) {
    return (
      <div className="jp-Jobs-form">
        <p>
          {trans.__(
            'You are not a member of any group that may run jobs. Ask your administrator to add you to one.'
          )}
        </p>
        <Button onClick={() => props.onCancel()}>{trans.__('Back')}</Button>
      </div>
    );
  }

  const request: IJobRequest = { name, command, ...choices };
  const clientErrors = validateJobRequest(request, options, true, trans);
  const errors: FieldErrors = submitted
    ? { ...clientErrors, ...serverFieldErrors }
    : serverFieldErrors;

  const onSubmit = async (event: React.FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    setServerFieldErrors({});
    setFormError(null);
    if (Object.keys(clientErrors).length > 0) {
      return;
    }
    if (runWhen === 'schedule' && props.onSchedule) {
      props.onSchedule(trimRequest(request));
      return;
    }
    setBusy(true);
    try {
      const job = await props.submit(trimRequest(request));
      if (runWhen === 'both' && props.onSchedule) {
        props.onSchedule(trimRequest(request));
      } else {
        props.onSubmitted(job);
      }
    } catch (error) {
      const found = serverErrors(
        error,
        ['name', 'group', 'instance_type', 'image', 'command'],
        trans
      );
      setServerFieldErrors(found.fields);
      setFormError(found.form);
    } finally {
      setBusy(false);
    }
  };
  // A field the user edits after the server's answer loses that answer's error.
  const clearServerError = (field: keyof IJobRequest) => {
    if (serverFieldErrors[field]) {
      setServerFieldErrors(old => ({ ...old, [field]: undefined }));
    }
  };

  return (
    <form className="jp-Jobs-form" onSubmit={onSubmit} noValidate>
      <BackHeader
        label={trans.__('Jobs')}
        title={trans.__('Back to the job list')}
        onBack={props.onCancel}
      />
      <h2 className="jp-Jobs-formTitle">{trans.__('Create Job')}</h2>
      <ChoiceFields
        idPrefix="jp-Jobs-create"
        trans={trans}
        options={options}
        value={choices}
        errors={errors}
        onChange={value => {
          setChoices(value);
          setServerFieldErrors({});
        }}
      />
      <TextField
        id="jp-Jobs-create-name"
        name="name"
        label={trans.__('Job name')}
        value={name}
        placeholder={trans.__('e.g. train model')}
        onChange={value => {
          setName(value);
          clearServerError('name');
        }}
        error={errors.name}
      />
      <TextField
        id="jp-Jobs-create-command"
        name="command"
        label={trans.__('Command')}
        rows={8}
        value={command}
        placeholder={`cd ${choices.group || '<group>'}\npython -u train.py`}
        onChange={value => {
          setCommand(value);
          clearServerError('command');
        }}
        error={errors.command}
      >
        <CommandHint options={options} group={choices.group} trans={trans} />
      </TextField>
      {props.onSchedule && (
        <fieldset className="jp-Jobs-field jp-Jobs-runWhen">
          <legend>{trans.__('Run')}</legend>
          {(
            [
              ['now', trans.__('now')],
              ['schedule', trans.__('on a schedule')],
              ['both', trans.__('both')]
            ] as const
          ).map(([value, label]) => (
            <label key={value}>
              <input
                type="radio"
                name="run_when"
                value={value}
                checked={runWhen === value}
                onChange={() => setRunWhen(value)}
              />
              {label}
            </label>
          ))}
        </fieldset>
      )}
      <FormButtons
        error={formError}
        submitLabel={busy ? trans.__('Submitting…') : trans.__('Submit')}
        busy={busy}
        onCancel={props.onCancel}
        trans={trans}
      />
    </form>
  );
}
