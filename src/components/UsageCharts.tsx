import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { errorMessage, IUsage, JobsAPI } from '../api';
import {
  chartMaximum,
  chartPoints,
  formatBytes,
  formatCpuTime,
  Metric,
  peakSummary
} from '../usage';

const WIDTH = 240;
const HEIGHT = 48;
const POLL_MS = 3000;

export interface IUsageChartsProps {
  api: JobsAPI;
  jobId: string;
  /** The job reached a final status: read once more, then stop polling. */
  final: boolean;
  trans: TranslationBundle;
}

/** One small line chart (SVG, theme colours) with its label and latest value. */
function Chart(props: {
  usage: IUsage;
  metric: Metric;
  label: string;
  value: string;
}): JSX.Element {
  const { usage, metric } = props;
  const maximum = chartMaximum(usage.samples, metric, usage.memory_limit_bytes);
  const points = chartPoints(usage.samples, metric, maximum, WIDTH, HEIGHT);
  return (
    <figure className="jp-Jobs-usageChart" data-metric={metric}>
      <figcaption>
        <span className="jp-Jobs-usageLabel">{props.label}</span>
        <span className="jp-Jobs-usageValue">{props.value}</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={props.label}
      >
        <line
          className="jp-Jobs-usageGrid"
          x1="0"
          y1="0.5"
          x2={WIDTH}
          y2="0.5"
        />
        {points && (
          <>
            <polygon
              className="jp-Jobs-usageArea"
              points={`0,${HEIGHT} ${points} ${WIDTH},${HEIGHT}`}
            />
            <polyline className="jp-Jobs-usageLine" points={points} />
          </>
        )}
      </svg>
    </figure>
  );
}

/** CPU, memory (and GPU) of the job as live charts; totals once it has ended. */
export function UsageCharts(props: IUsageChartsProps): JSX.Element | null {
  const { api, jobId, final, trans } = props;
  const [usage, setUsage] = React.useState<IUsage | null>(null);
  const [error, setError] = React.useState<string | null>(null);

  React.useEffect(() => {
    let stopped = false;
    let timer = 0;
    const load = async () => {
      try {
        const fresh = await api.getUsage(jobId);
        if (!stopped) {
          setUsage(fresh);
          setError(null);
        }
      } catch (e) {
        if (!stopped) {
          setError(errorMessage(e, trans));
        }
      }
      if (!stopped && !final) {
        timer = window.setTimeout(() => void load(), POLL_MS);
      }
    };
    void load();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [jobId, final]);

  if (error) {
    return <p className="jp-Jobs-hint jp-Jobs-usageMessage">{error}</p>;
  }
  if (!usage) {
    return null;
  }
  if (!usage.available || usage.message) {
    return <p className="jp-Jobs-hint jp-Jobs-usageMessage">{usage.message}</p>;
  }
  const last = usage.samples[usage.samples.length - 1];
  const hasGpu = usage.samples.some(s => s.gpu !== undefined);
  return (
    <div className="jp-Jobs-usage">
      <div className="jp-Jobs-usageCharts">
        <Chart
          usage={usage}
          metric="cpu"
          label={trans.__('CPU')}
          value={last ? trans.__('%1 CPU', last.cpu.toFixed(2)) : '-'}
        />
        <Chart
          usage={usage}
          metric="memory_bytes"
          label={trans.__('Memory')}
          value={last ? formatBytes(last.memory_bytes, trans) : '-'}
        />
        {hasGpu && (
          <Chart
            usage={usage}
            metric="gpu"
            label={trans.__('GPU')}
            value={last?.gpu !== undefined ? trans.__('%1 %', last.gpu) : '-'}
          />
        )}
      </div>
      {final && (
        <p className="jp-Jobs-usageSummary">
          {trans.__(
            'Memory: %1 · CPU time: %2',
            peakSummary(usage, trans),
            formatCpuTime(usage.cpu_seconds, trans)
          )}
        </p>
      )}
    </div>
  );
}
