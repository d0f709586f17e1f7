import { Button, IButtonProps, LabIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

/** A button with an icon before its label (or an icon alone). */
export function IconButton(
  props: IButtonProps & { icon: LabIcon; label?: string }
): JSX.Element {
  const { icon, label, ...button } = props;
  return (
    <Button {...button}>
      <icon.react tag="span" className="jp-Jobs-buttonIcon" />
      {label}
    </Button>
  );
}
