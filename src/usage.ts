import { TranslationBundle } from '@jupyterlab/translation';

import { IUsage, IUsageSample } from './api';
import { ENGLISH } from './i18n';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` -> `1.5 KiB`, `1503238554` -> `1.4 GiB`; one decimal below 10 units. */
export function formatBytes(
  bytes: number | null | undefined,
  trans: TranslationBundle = ENGLISH
): string {
  if (bytes === null || bytes === undefined || !isFinite(bytes) || bytes < 0) {
    return '-';
  }
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown =
    unit === 0 || value >= 10 ? String(Math.round(value)) : value.toFixed(1);
  return trans.__('%1 %2', shown.replace(/\.0$/, ''), UNITS[unit]);
}

/** A finished job's memory: `peak 1.4 GiB of 2 GiB` (or without a known limit). */
export function peakSummary(
  usage: IUsage,
  trans: TranslationBundle = ENGLISH
): string {
  const peak = formatBytes(usage.peak_memory_bytes, trans);
  if (usage.memory_limit_bytes) {
    return trans.__(
      'peak %1 of %2',
      peak,
      formatBytes(usage.memory_limit_bytes, trans)
    );
  }
  return trans.__('peak %1', peak);
}

/** CPU time: `3.7 s` below a minute, else `12m 5s`-like via minutes and seconds. */
export function formatCpuTime(
  seconds: number,
  trans: TranslationBundle = ENGLISH
): string {
  if (seconds < 60) {
    return trans.__('%1 s', seconds.toFixed(1));
  }
  const minutes = Math.floor(seconds / 60);
  return trans.__('%1m %2s', minutes, Math.round(seconds % 60));
}

/** The metrics a chart can draw. */
export type Metric = 'cpu' | 'memory_bytes' | 'gpu';

/** The top of a chart's scale: at least one CPU, the memory limit, 100 % of GPU. */
export function chartMaximum(
  samples: IUsageSample[],
  metric: Metric,
  memoryLimit: number | null
): number {
  const highest = Math.max(0, ...samples.map(s => s[metric] ?? 0));
  if (metric === 'cpu') {
    return Math.max(1, Math.ceil(highest));
  }
  if (metric === 'gpu') {
    return 100;
  }
  return Math.max(highest, memoryLimit ?? 0) || 1;
}

/**
 * The samples as SVG polyline points in a `width` x `height` box: time left to right,
 * 0 at the bottom and `maximum` at the top. '' for fewer than one sample.
 */
export function chartPoints(
  samples: IUsageSample[],
  metric: Metric,
  maximum: number,
  width: number,
  height: number
): string {
  const points = samples.filter(s => s[metric] !== undefined);
  if (points.length === 0) {
    return '';
  }
  const first = points[0].t;
  const span = points[points.length - 1].t - first || 1;
  const round = (n: number) => Math.round(n * 10) / 10;
  return points
    .map(s => {
      const x = points.length === 1 ? width : ((s.t - first) / span) * width;
      const y = height - (Math.min(s[metric] ?? 0, maximum) / maximum) * height;
      return `${round(x)},${round(y)}`;
    })
    .join(' ');
}
