import * as React from 'react';

/** A job's status as a coloured badge that also says it in words. */
export function StatusBadge(props: { status: string }): JSX.Element {
  const known = [
    'Pending',
    'Preparing',
    'Running',
    'Succeeded',
    'Failed',
    'Cancelled'
  ];
  const kind = known.includes(props.status)
    ? props.status.toLowerCase()
    : 'unknown';
  return (
    <span
      className={`jp-Jobs-status jp-Jobs-status-${kind}`}
      data-status={props.status}
    >
      {props.status}
    </span>
  );
}
