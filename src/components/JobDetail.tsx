import { TranslationBundle } from '@jupyterlab/translation';
import { copyIcon, refreshIcon, stopIcon } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';
import * as React from 'react';

import { errorMessage, IJob, isFinal, JobsAPI, JobsAPIError } from '../api';
import { absoluteTime, formatDuration, liveDuration } from '../format';
import { JobsModel } from '../model';
import { ArtifactList } from './ArtifactList';
import { BackHeader, DetailPlaceholder } from './DetailPlaceholder';
import { useNow } from './hooks';
import { LogViewer } from './LogViewer';
import { IconButton } from './IconButton';
import { StatusBadge } from './StatusBadge';
import { UsageCharts } from './UsageCharts';

export interface IJobDetailProps {
  model: JobsModel;
  api: JobsAPI;
  jobId: string;
  maxLogLines: number;
  trans: TranslationBundle;
  onBack: () => void;
  onCancel: (job: IJob) => Promise<void>;
  onRerun: (job: IJob) => void;
  onClone: (job: IJob) => void;
  onOpenJob: (id: string) => void;
  /** Open a file of the Jupyter root directory (the output notebook). */
  onOpenPath: (path: string) => void;
  /** Open the page of the schedule that started the job. */
  onOpenSchedule?: (scheduleId: string) => void;
}

/** Whether a path is absolute, i.e. outside the Jupyter root directory. */
function isAbsolute(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path);
}

/** Every field of a job, its message, its log, and Cancel / Rerun / Clone. */
export function JobDetail(props: IJobDetailProps): JSX.Element {
  const { model, jobId, trans } = props;
  const [job, setJob] = React.useState<IJob | null>(model.find(jobId) ?? null);
  const [receivedAt, setReceivedAt] = React.useState(Date.now());
  const [error, setError] = React.useState<string | null>(null);
  const [notFound, setNotFound] = React.useState(false);
  const now = useNow(1000);

  React.useEffect(() => {
    setJob(model.find(jobId) ?? null);
    setNotFound(false);
    setError(null);
    const poll = new Poll<void, unknown, 'stop'>({
      factory: async () => {
        try {
          const fresh = await model.fetchJob(jobId);
          setJob(fresh);
          setReceivedAt(Date.now());
          setError(null);
          if (isFinal(fresh.status)) {
            void poll.stop();
          }
        } catch (e) {
          if (e instanceof JobsAPIError && e.status === 404) {
            setNotFound(true);
            void poll.stop();
            return;
          }
          setError(errorMessage(e, trans));
          throw e;
        }
      },
      frequency: {
        interval: model.pollInterval * 1000,
        backoff: true,
        max: 60000
      },
      name: 'jupyterlab-jobs:detail',
      standby: 'when-hidden'
    });
    return () => poll.dispose();
  }, [jobId]);

  const header = (
    <BackHeader
      label={trans.__('Jobs')}
      title={trans.__('Back to the job list')}
      onBack={props.onBack}
    />
  );
  if (notFound || !job) {
    return (
      <DetailPlaceholder
        header={header}
        notFound={notFound}
        notFoundText={trans.__(
          'This job does not exist, or belongs to a group you are not a member of.'
        )}
        error={error}
        loadingText={trans.__('Loading the job…')}
      />
    );
  }

  const final = isFinal(job.status);
  const duration = formatDuration(
    liveDuration(job, model.receivedAt(job.id) || receivedAt, now),
    trans
  );
  const options = model.options;
  const instanceType = options?.instance_types.find(
    it => it.name === job.instance_type
  );
  const image = options?.images.find(im => im.name === job.image);
  // [the Job field it shows (data-field), its label, its value]
  const rows: [string, string, React.ReactNode][] = [
    [
      'status',
      trans.__('Status'),
      <StatusBadge status={job.status} trans={trans} />
    ],
    ['message', trans.__('Message'), job.message || '-'],
    ['id', trans.__('Job ID'), <code>{job.id}</code>],
    ['name', trans.__('Job name'), job.name],
    [
      'schedule',
      trans.__('Schedule'),
      job.schedule && props.onOpenSchedule ? (
        <button
          className="jp-Jobs-link jp-Jobs-scheduleLink"
          onClick={() => props.onOpenSchedule?.(job.schedule?.id ?? '')}
        >
          {job.schedule.name}
        </button>
      ) : (
        (job.schedule?.name ?? '-')
      )
    ],
    ['user', trans.__('User'), job.user],
    ['created_at', trans.__('Submitted'), absoluteTime(job.created_at)],
    ['started_at', trans.__('Start Time'), absoluteTime(job.started_at)],
    ['finished_at', trans.__('Finished Time'), absoluteTime(job.finished_at)],
    ['duration', trans.__('Duration'), duration],
    ['group', trans.__('Group'), job.group],
    [
      'instance_type',
      trans.__('Instance type'),
      instanceType
        ? trans.__(
            '%1 (%2 CPU · %3 · %4 GPU)',
            instanceType.display_name || instanceType.name,
            instanceType.cpu,
            instanceType.memory,
            instanceType.gpu
          )
        : job.instance_type
    ],
    [
      'image',
      trans.__('Image'),
      image ? image.display_name || image.name : job.image
    ],
    [
      'exit_code',
      trans.__('Exit code'),
      job.exit_code === null ? '-' : String(job.exit_code)
    ]
  ];
  if (job.gpus && job.gpus.length > 0) {
    rows.push(['gpus', trans.__('GPUs'), job.gpus.join(', ')]);
  }
  if (job.rerun_of) {
    rows.push([
      'rerun_of',
      trans.__('Rerun of'),
      <button
        className="jp-Jobs-link"
        onClick={() => props.onOpenJob(job.rerun_of as string)}
      >
        {job.rerun_of}
      </button>
    ]);
  }
  if (job.notebook) {
    rows.push(['notebook', trans.__('Notebook'), <code>{job.notebook}</code>]);
  }
  if (job.parameters && Object.keys(job.parameters).length > 0) {
    rows.push([
      'parameters',
      trans.__('Parameters'),
      <pre className="jp-Jobs-parameters">
        {Object.entries(job.parameters)
          .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
          .join('\n')}
      </pre>
    ]);
  }
  if (job.notebook || job.output_path) {
    const output = job.output_path;
    rows.push([
      'output_path',
      trans.__('Output notebook'),
      output ? (
        isAbsolute(output) ? (
          <span>
            <code>{output}</code>{' '}
            <span className="jp-Jobs-hint">
              {trans.__('(outside the Jupyter root directory)')}
            </span>
          </span>
        ) : (
          <button
            className="jp-Jobs-link jp-Jobs-outputLink"
            title={trans.__('Open %1', output)}
            onClick={() => props.onOpenPath(output)}
          >
            {output}
          </button>
        )
      ) : final ? (
        '-'
      ) : (
        trans.__('written when the job ends')
      )
    ]);
  }

  return (
    <div className="jp-Jobs-detail" data-job-id={job.id}>
      {header}
      <div className="jp-Jobs-detailTitle">
        <StatusBadge status={job.status} trans={trans} />
        <h2 className="jp-Jobs-detailName" title={job.name}>
          {job.name}
        </h2>
      </div>
      <div className="jp-Jobs-detailActions">
        {!final && (
          <IconButton
            icon={stopIcon}
            label={trans.__('Cancel')}
            className="jp-Jobs-cancel"
            onClick={() => void props.onCancel(job)}
            title={trans.__('Stop this job')}
          />
        )}
        {final && (
          <IconButton
            icon={refreshIcon}
            label={trans.__('Rerun')}
            className="jp-Jobs-rerun"
            onClick={() => props.onRerun(job)}
            title={trans.__('Run this job again with the same inputs')}
          />
        )}
        <IconButton
          icon={copyIcon}
          label={trans.__('Clone to form')}
          minimal
          className="jp-Jobs-clone"
          onClick={() => props.onClone(job)}
          title={
            job.notebook
              ? trans.__(
                  "Open the Submit notebook form filled in with this job's notebook and parameters"
                )
              : trans.__(
                  "Open the Create Job form filled in with this job's inputs"
                )
          }
        />
      </div>
      {job.message && (
        <div
          className={`jp-Jobs-message jp-Jobs-message-${job.status.toLowerCase()}`}
          role="status"
        >
          {job.message}
        </div>
      )}
      {error && (
        <div className="jp-Jobs-banner jp-Jobs-banner-offline" role="alert">
          {error} {trans.__('Retrying…')}
        </div>
      )}
      <table className="jp-Jobs-fields">
        <tbody>
          {rows.map(([field, label, value]) => (
            <tr key={field} data-field={field}>
              <th scope="row">{label}</th>
              <td>{value}</td>
            </tr>
          ))}
          <tr data-field="command">
            <th scope="row">{trans.__('Command')}</th>
            <td>
              {job.command ? (
                <pre className="jp-Jobs-commandText">{job.command}</pre>
              ) : (
                '-'
              )}
            </td>
          </tr>
        </tbody>
      </table>
      <h3 className="jp-Jobs-logsTitle">{trans.__('Resource use')}</h3>
      <UsageCharts api={props.api} jobId={job.id} final={final} trans={trans} />
      <h3 className="jp-Jobs-logsTitle">{trans.__('Artifacts')}</h3>
      <ArtifactList
        api={props.api}
        jobId={job.id}
        final={final}
        trans={trans}
      />
      <h3 className="jp-Jobs-logsTitle">{trans.__('Logs')}</h3>
      <LogViewer
        key={job.id}
        api={props.api}
        jobId={job.id}
        jobName={job.name}
        logsAvailable={job.logs_available}
        logRetentionSeconds={options?.log_retention_seconds ?? null}
        maxLines={props.maxLogLines}
        trans={trans}
      />
    </div>
  );
}
