import { LabIcon } from '@jupyterlab/ui-components';

import jobsSvg from '../style/icons/jobs.svg';

/** The Jobs panel's icon: a list of tasks with a clock. */
export const jobsIcon = new LabIcon({
  name: 'jupyterlab-jobs:jobs',
  svgstr: jobsSvg
});
