/**
 * Client-side checks of a new job, mirroring the server's (`JobRequest` in
 * `openapi.json`): fields are trimmed, then checked for length and control characters.
 * The server checks again; its 400 answer names the field at fault the same way.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IJobRequest, IOptions } from './api';
import { ENGLISH } from './i18n';

export const MAX_NAME_LENGTH = 200;
export const MAX_CHOICE_LENGTH = 200;
export const MAX_COMMAND_LENGTH = 65536;

/** C0 and C1 control characters and DEL. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** The same, except tab, line feed and carriage return. */
// eslint-disable-next-line no-control-regex
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

export type FieldErrors = Partial<Record<keyof IJobRequest, string>>;

/** Length in code points, as the server (Python) counts. */
export function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) {
    void _;
    count += 1;
  }
  return count;
}

function checkLine(
  label: string,
  value: string,
  max: number,
  trans: TranslationBundle
): string | null {
  const text = value.trim();
  if (text.length === 0) {
    return trans.__('%1 is required', label);
  }
  if (codePoints(text) > max) {
    return trans.__('%1 must be at most %2 characters', label, max);
  }
  if (CONTROL.test(text)) {
    return trans.__('%1 must be one line without control characters', label);
  }
  return null;
}

/**
 * The problems of a job request, by field; empty when it may be submitted.
 *
 * @param options When given, the group, instance type and image must be among the
 *   user's choices.
 * @param requireCommand False for notebook jobs, whose command the server fills in.
 */
export function validateJobRequest(
  request: IJobRequest,
  options?: IOptions | null,
  requireCommand = true,
  trans: TranslationBundle = ENGLISH
): FieldErrors {
  const errors: FieldErrors = {};
  const line = (label: string, value: string) =>
    checkLine(label, value, MAX_CHOICE_LENGTH, trans);
  const name = checkLine(
    trans.__('Job name'),
    request.name,
    MAX_NAME_LENGTH,
    trans
  );
  if (name) {
    errors.name = name;
  }
  const group = line(trans.__('Group'), request.group);
  if (group) {
    errors.group = group;
  }
  const instanceType = line(trans.__('Instance type'), request.instance_type);
  if (instanceType) {
    errors.instance_type = instanceType;
  }
  const image = line(trans.__('Image'), request.image);
  if (image) {
    errors.image = image;
  }
  if (requireCommand || request.command !== undefined) {
    const command = (request.command ?? '').trim();
    if (command.length === 0) {
      errors.command = trans.__('Command is required');
    } else if (codePoints(command) > MAX_COMMAND_LENGTH) {
      errors.command = trans.__(
        'Command must be at most %1 characters',
        MAX_COMMAND_LENGTH
      );
    } else if (CONTROL_IN_TEXT.test(command)) {
      errors.command = trans.__(
        'Command must not contain control characters other than tabs and line breaks'
      );
    }
  }
  if (options) {
    const chosen = options.groups.find(g => g.name === request.group);
    if (!errors.group && !chosen) {
      errors.group = trans.__('Choose one of your groups');
    }
    const groupName = chosen?.display_name || chosen?.name;
    if (chosen && !errors.instance_type) {
      if (!chosen.instance_types.includes(request.instance_type)) {
        errors.instance_type = trans.__(
          'Group %1 does not allow this instance type',
          groupName
        );
      }
    }
    if (chosen && !errors.image && !chosen.images.includes(request.image)) {
      errors.image = trans.__('Group %1 does not allow this image', groupName);
    }
  }
  return errors;
}

/** The request with every text field trimmed, as the server will see it. */
export function trimRequest(request: IJobRequest): IJobRequest {
  const trimmed: IJobRequest = {
    ...request,
    name: request.name.trim(),
    group: request.group.trim(),
    instance_type: request.instance_type.trim(),
    image: request.image.trim()
  };
  if (request.command !== undefined) {
    trimmed.command = request.command.trim();
  }
  return trimmed;
}
