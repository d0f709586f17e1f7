import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { STATUSES } from '../api';

/** A status in the user's language (the API's value when it is not a known one). */
export function statusLabel(status: string, trans: TranslationBundle): string {
  const labels: Record<string, string> = {
    Pending: trans.__('Pending'),
    Preparing: trans.__('Preparing'),
    Running: trans.__('Running'),
    Succeeded: trans.__('Succeeded'),
    Failed: trans.__('Failed'),
    Cancelled: trans.__('Cancelled')
  };
  return labels[status] ?? status;
}

/**
 * A job's status as a coloured badge that also says it in words; on hover, the job's
 * message (why it is pending, how it failed), when it has one.
 */
export function StatusBadge(props: {
  status: string;
  message?: string;
  trans: TranslationBundle;
}): JSX.Element {
  const kind = (STATUSES as readonly string[]).includes(props.status)
    ? props.status.toLowerCase()
    : 'unknown';
  return (
    <span
      className={`jp-Jobs-status jp-Jobs-status-${kind}`}
      data-status={props.status}
      title={props.message || undefined}
    >
      {statusLabel(props.status, props.trans)}
    </span>
  );
}
