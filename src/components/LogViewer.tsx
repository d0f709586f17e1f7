import { TranslationBundle } from '@jupyterlab/translation';
import { Button, downloadIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  errorMessage,
  isFinal,
  isUnreachable,
  JobsAPI,
  JobsAPIError
} from '../api';
import { formatPeriod } from '../format';
import { LogBuffer } from '../logbuffer';

type LogState = 'loading' | 'live' | 'done' | 'gone' | 'reconnecting' | 'error';

export interface ILogViewerProps {
  api: JobsAPI;
  jobId: string;
  jobName: string;
  /** False once retention removed the logs. */
  logsAvailable: boolean;
  logRetentionSeconds: number | null;
  maxLines: number;
  trans: TranslationBundle;
}

/**
 * A job's log that follows live output. It first reads the last `maxLines` lines, then
 * streams from that byte offset (`follow=1`), resuming at the exact offset after a
 * dropped connection. It scrolls to new output until the user scrolls up.
 */
export function LogViewer(props: ILogViewerProps): JSX.Element {
  const { api, jobId, maxLines, trans } = props;
  const buffer = React.useRef(new LogBuffer(maxLines));
  const [, setVersion] = React.useState(0);
  const [state, setState] = React.useState<LogState>('loading');
  const [problem, setProblem] = React.useState<string | null>(null);
  /** The server's words for logs that are gone (retention, or removed early). */
  const [goneMessage, setGoneMessage] = React.useState<string | null>(null);
  const [following, setFollowing] = React.useState(true);
  const scroller = React.useRef<HTMLPreElement>(null);
  const frame = React.useRef<number | null>(null);

  const scheduleRender = React.useCallback(() => {
    if (frame.current === null) {
      frame.current = window.requestAnimationFrame(() => {
        frame.current = null;
        setVersion(v => v + 1);
      });
    }
  }, []);

  React.useEffect(() => {
    buffer.current = new LogBuffer(maxLines);
    setVersion(v => v + 1);
    setGoneMessage(null);
    const abort = new AbortController();
    const { signal } = abort;
    if (!props.logsAvailable) {
      setState('gone');
      // Ask why: removed by the retention policy, or removed early (output lost).
      api.readLogs(jobId, { tail: 1 }, signal).then(
        () => undefined,
        error => {
          if (error instanceof JobsAPIError && error.status === 410) {
            setGoneMessage(error.message);
          }
        }
      );
      return () => abort.abort();
    }
    const run = async () => {
      setState('loading');
      let offset: number;
      let attempt = 0;
      // The last lines first, without streaming: its X-Log-Offset tells exactly where
      // the following request must start.
      for (;;) {
        try {
          const first = await api.readLogs(jobId, { tail: maxLines }, signal);
          buffer.current.append(first.text);
          offset = first.nextOffset;
          buffer.current.skippedStart =
            offset > new TextEncoder().encode(first.text).byteLength;
          scheduleRender();
          break;
        } catch (error) {
          if (!(await handle(error, attempt++))) {
            return;
          }
        }
      }
      attempt = 0;
      for (;;) {
        try {
          setState('live');
          setProblem(null);
          const response = await api.openLogs(
            jobId,
            { offset, follow: 1 },
            signal
          );
          if (response.body) {
            const reader = response.body.getReader();
            const decoder = new TextDecoder();
            for (;;) {
              const { done, value } = await reader.read();
              if (done) {
                break;
              }
              offset += value.byteLength;
              buffer.current.append(decoder.decode(value, { stream: true }));
              scheduleRender();
              attempt = 0;
            }
            buffer.current.append(decoder.decode());
          } else {
            const text = await response.text();
            offset += new TextEncoder().encode(text).byteLength;
            buffer.current.append(text);
          }
          scheduleRender();
          // The stream ends when the job is final; a proxy may also have cut it.
          const job = await api.getJob(jobId);
          if (isFinal(job.status) || !job.logs_available) {
            setState(job.logs_available ? 'done' : 'gone');
            return;
          }
        } catch (error) {
          if (!(await handle(error, attempt++))) {
            return;
          }
        }
      }
    };
    /** Whether to try again (after a backoff); sets the state otherwise. */
    const handle = async (
      error: unknown,
      attempt: number
    ): Promise<boolean> => {
      if (signal.aborted || (error as Error)?.name === 'AbortError') {
        return false;
      }
      if (error instanceof JobsAPIError && error.status === 410) {
        setGoneMessage(error.message);
        setState('gone');
        return false;
      }
      if (isUnreachable(error) || attempt < 3) {
        setState('reconnecting');
        setProblem(errorMessage(error, trans));
        const delay = Math.min(30000, 1000 * 2 ** Math.min(attempt, 5));
        await new Promise(resolve => window.setTimeout(resolve, delay));
        return !signal.aborted;
      }
      setState('error');
      setProblem(errorMessage(error, trans));
      return false;
    };
    void run();
    return () => {
      abort.abort();
      if (frame.current !== null) {
        window.cancelAnimationFrame(frame.current);
        frame.current = null;
      }
    };
  }, [jobId, props.logsAvailable, maxLines]);

  React.useLayoutEffect(() => {
    const node = scroller.current;
    if (node && following) {
      node.scrollTop = node.scrollHeight;
    }
  });

  const onScroll = (event: React.UIEvent<HTMLPreElement>) => {
    const node = event.currentTarget;
    const atBottom = node.scrollHeight - node.scrollTop - node.clientHeight < 8;
    if (atBottom !== following) {
      setFollowing(atBottom);
    }
  };

  const download = async () => {
    try {
      const blob = await api.downloadLogs(jobId);
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = `${props.jobName.replace(/[^\w.-]+/g, '_') || 'job'}-${jobId}.log`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      setProblem(errorMessage(error, trans));
    }
  };

  if (state === 'gone') {
    const kept = props.logRetentionSeconds
      ? trans.__(
          'Logs are kept for %1 after a job ends.',
          formatPeriod(props.logRetentionSeconds, trans)
        )
      : '';
    return (
      <div className="jp-Jobs-logs">
        <div className="jp-Jobs-logsGone" role="status">
          {goneMessage ??
            `${trans.__('The logs of this job were removed by the retention policy.')} ${kept}`}{' '}
          {trans.__("The job's record, status and message are still here.")}
        </div>
      </div>
    );
  }

  const log = buffer.current;
  const status: Record<LogState, string> = {
    loading: trans.__('Loading the log…'),
    live: trans.__('Following live output'),
    done: trans.__('The job has ended; this is its whole output.'),
    gone: '',
    reconnecting: trans.__('Connection lost; reconnecting…'),
    error: trans.__('The log could not be read.')
  };
  return (
    <div className="jp-Jobs-logs">
      <div className="jp-Jobs-logsBar">
        <span className="jp-Jobs-logsState" data-state={state}>
          {status[state]}
        </span>
        {!following && state !== 'done' && (
          <Button
            small
            minimal
            className="jp-Jobs-follow"
            onClick={() => setFollowing(true)}
          >
            {trans.__('Follow output')}
          </Button>
        )}
        <Button
          small
          minimal
          className="jp-Jobs-download"
          title={trans.__('Download the whole log')}
          onClick={() => void download()}
        >
          <downloadIcon.react tag="span" className="jp-Jobs-buttonIcon" />
          {trans.__('Download')}
        </Button>
      </div>
      {log.dropped > 0 || log.skippedStart ? (
        <div className="jp-Jobs-hint jp-Jobs-logsTruncated">
          {trans._n(
            'Showing the last line; download the log to see all of it.',
            'Showing the last %1 lines; download the log to see all of it.',
            maxLines
          )}
        </div>
      ) : null}
      {problem && (
        <div className="jp-Jobs-fieldError" role="alert">
          {problem}
        </div>
      )}
      <pre
        className="jp-Jobs-logText"
        ref={scroller}
        onScroll={onScroll}
        tabIndex={0}
        aria-label={trans.__('Job log')}
      >
        {log.empty && state !== 'loading' ? '' : log.text}
      </pre>
      {log.empty && state !== 'loading' && (
        <div className="jp-Jobs-hint">{trans.__('No output yet.')}</div>
      )}
    </div>
  );
}
