import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IOptions } from '../api';
import { formatPeriod } from '../format';
import { slot, withNodes } from './translated';

export interface ICommandHintProps {
  options: IOptions;
  /** The chosen group's name ('' before there is one). */
  group: string;
  trans: TranslationBundle;
}

/**
 * What a command can reach and how long it may run: the working directory, the group's
 * directory, that group's datasets (by the paths a command uses) and the run-time limit.
 */
export function CommandHint(props: ICommandHintProps): JSX.Element {
  const { options, group, trans } = props;
  const datasets = options.groups.find(g => g.name === group)?.datasets ?? [];
  const datasetPaths = datasets.map((name, i) => (
    <React.Fragment key={name}>
      {i > 0 && trans._p('list separator', ', ')}
      <code>datasets/{name}</code>
    </React.Fragment>
  ));
  return (
    <div className="jp-Jobs-hint jp-Jobs-commandHint">
      {withNodes(
        trans.__(
          "Runs with bash in a fresh, temporary working directory. Read inputs from and write lasting outputs to %1 (the group's directory).",
          slot(0)
        ),
        <code>{group || '<group>'}/</code>
      )}{' '}
      <span className="jp-Jobs-datasetsHint">
        {datasets.length > 0
          ? withNodes(
              trans._n(
                "The group's dataset is at %2.",
                "The group's datasets are at %2.",
                datasets.length,
                slot(0)
              ),
              datasetPaths
            )
          : trans.__('This group has no datasets.')}
      </span>{' '}
      {withNodes(
        trans.__('Use %1 to see output in the log at once.', slot(0)),
        <code>python -u</code>
      )}{' '}
      <span className="jp-Jobs-runtimeHint">
        {trans.__(
          'A job that runs longer than %1 is stopped and marked Failed.',
          formatPeriod(options.max_runtime_seconds, trans)
        )}
      </span>
    </div>
  );
}
