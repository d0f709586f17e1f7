import { TranslationBundle } from '@jupyterlab/translation';
import {
  Button,
  HTMLSelect,
  InputGroup,
  IOptionProps
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { IOptions } from '../api';

/** An error shown under the field it is about. */
export function FieldError(props: {
  field: string;
  error?: string | null;
}): JSX.Element | null {
  if (!props.error) {
    return null;
  }
  return (
    <div className="jp-Jobs-fieldError" role="alert" data-field={props.field}>
      {props.error}
    </div>
  );
}

export interface IFieldRowProps {
  /** The control's id, which the label names; none for a value shown as it is. */
  id?: string;
  label: string;
  /** The request field whose error shows under the control. */
  field?: string;
  error?: string | null;
  /** The control, and any hint below it. */
  children: React.ReactNode;
}

/** One row of a form: its label, its control (and hints), the error about it. */
export function FieldRow(props: IFieldRowProps): JSX.Element {
  return (
    <div className="jp-Jobs-field">
      <label htmlFor={props.id}>{props.label}</label>
      {props.children}
      {props.field && <FieldError field={props.field} error={props.error} />}
    </div>
  );
}

export interface ISelectFieldProps {
  id: string;
  /** The select's name, also the field its error is about. */
  name: string;
  label: string;
  value: string;
  options: (string | IOptionProps)[];
  onChange: (value: string) => void;
  error?: string | null;
  /** Hints shown between the select and its error. */
  children?: React.ReactNode;
}

/** The user's groups as the choices of a drop-down, by display name. */
export function groupChoices(options: IOptions | null): IOptionProps[] {
  return (options?.groups ?? []).map(g => ({
    label: g.display_name || g.name,
    value: g.name
  }));
}

/** A group's display name; its name when the options do not know it. */
export function groupDisplayName(
  options: IOptions | null,
  name: string
): string {
  return options?.groups.find(g => g.name === name)?.display_name || name;
}

/** A form row whose control is a drop-down. */
export function SelectField(props: ISelectFieldProps): JSX.Element {
  return (
    <FieldRow
      id={props.id}
      label={props.label}
      field={props.name}
      error={props.error}
    >
      <HTMLSelect
        id={props.id}
        name={props.name}
        value={props.value}
        onChange={e => props.onChange(e.currentTarget.value)}
        options={props.options}
      />
      {props.children}
    </FieldRow>
  );
}

export interface ITextFieldProps {
  id: string;
  /** The control's name, also the field its error is about. */
  name: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  /** A multi-line field of code (a command, parameters) this many rows high. */
  rows?: number;
  error?: string | null;
  /** Hints shown between the control and its error. */
  children?: React.ReactNode;
}

/** A form row whose control is a line of text, or lines of code when it has `rows`. */
export function TextField(props: ITextFieldProps): JSX.Element {
  const { id, name, value, placeholder } = props;
  return (
    <FieldRow id={id} label={props.label} field={name} error={props.error}>
      {props.rows ? (
        <textarea
          id={id}
          name={name}
          className="jp-Jobs-command"
          rows={props.rows}
          spellCheck={false}
          value={value}
          placeholder={placeholder}
          onChange={e => props.onChange(e.currentTarget.value)}
        />
      ) : (
        <InputGroup
          id={id}
          name={name}
          value={value}
          placeholder={placeholder}
          onChange={e => props.onChange(e.currentTarget.value)}
        />
      )}
      {props.children}
    </FieldRow>
  );
}

/** The error of a whole form (not of one field), above its buttons. */
export function FormError(props: {
  message?: string | null;
}): JSX.Element | null {
  if (!props.message) {
    return null;
  }
  return (
    <div className="jp-Jobs-formError" role="alert">
      {props.message}
    </div>
  );
}

/**
 * The end of a form: its error (if any), then Cancel and the submit button, which is
 * off while `busy`.
 */
export function FormButtons(props: {
  error?: string | null;
  submitLabel: string;
  busy: boolean;
  onCancel: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  return (
    <>
      <FormError message={props.error} />
      <div className="jp-Jobs-formButtons">
        <Button type="button" minimal onClick={() => props.onCancel()}>
          {props.trans.__('Cancel')}
        </Button>
        <Button
          type="submit"
          className="jp-Jobs-submit jp-mod-styled jp-mod-accept"
          disabled={props.busy}
        >
          {props.submitLabel}
        </Button>
      </div>
    </>
  );
}
