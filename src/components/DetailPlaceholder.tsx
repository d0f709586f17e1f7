import { caretLeftIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IconButton } from './IconButton';

/** The header of a page inside the panel: a button back to where it came from. */
export function BackHeader(props: {
  /** Where the button leads ("Jobs", "Schedules"). */
  label: string;
  title: string;
  onBack: () => void;
}): JSX.Element {
  return (
    <div className="jp-Jobs-detailHeader">
      <IconButton
        icon={caretLeftIcon}
        label={props.label}
        type="button"
        minimal
        small
        className="jp-Jobs-back"
        onClick={() => props.onBack()}
        title={props.title}
      />
    </div>
  );
}

export interface IDetailPlaceholderProps {
  /** The page's header (its back button). */
  header: React.ReactNode;
  /** The server answered 404: the record does not exist or is not the user's to see. */
  notFound: boolean;
  notFoundText: string;
  /** Why the record could not be loaded; null while it loads. */
  error: string | null;
  loadingText: string;
}

/** A detail page before it has its record: not found, the load error, or loading. */
export function DetailPlaceholder(props: IDetailPlaceholderProps): JSX.Element {
  let body: JSX.Element;
  if (props.notFound) {
    body = <p className="jp-Jobs-empty">{props.notFoundText}</p>;
  } else if (props.error) {
    body = (
      <div className="jp-Jobs-banner jp-Jobs-banner-error" role="alert">
        {props.error}
      </div>
    );
  } else {
    body = <div className="jp-Jobs-loading">{props.loadingText}</div>;
  }
  return (
    <div className="jp-Jobs-detail">
      {props.header}
      {body}
    </div>
  );
}
