import { IOptions } from '../api';

/** What `GET options` answers for alice: one group, one instance type, one image. */
export const OPTIONS: IOptions = {
  user: 'alice',
  groups: [
    {
      name: 'research',
      display_name: 'Research',
      instance_types: ['cpu-1'],
      images: ['python'],
      datasets: []
    }
  ],
  instance_types: [
    {
      name: 'cpu-1',
      display_name: 'CPU 1',
      description: '',
      cpu: 1,
      memory: '1Gi',
      gpu: 0
    }
  ],
  images: [{ name: 'python', display_name: 'Python', description: '' }],
  max_runtime_seconds: 86400,
  log_retention_seconds: 604800
};
