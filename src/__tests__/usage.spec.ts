import { IUsage, IUsageSample } from '../api';
import { imageType } from '../components/ArtifactList';
import {
  chartMaximum,
  chartPoints,
  formatBytes,
  formatCpuTime,
  peakSummary
} from '../usage';

const GIB = 1024 ** 3;

function usage(fields: Partial<IUsage>): IUsage {
  return {
    available: true,
    samples: [],
    peak_memory_bytes: 0,
    cpu_seconds: 0,
    memory_limit_bytes: null,
    message: '',
    ...fields
  };
}

describe('formatBytes', () => {
  it('uses binary units with one decimal below ten', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * 1024 ** 2)).toBe('300 MiB');
    expect(formatBytes(1.4 * GIB)).toBe('1.4 GiB');
    expect(formatBytes(2 * GIB)).toBe('2 GiB');
    expect(formatBytes(12.5 * GIB)).toBe('13 GiB');
  });

  it('shows a dash for what is not a size', () => {
    expect(formatBytes(null)).toBe('-');
    expect(formatBytes(-1)).toBe('-');
    expect(formatBytes(NaN)).toBe('-');
  });
});

describe('peakSummary and formatCpuTime', () => {
  it('says the peak against the limit', () => {
    expect(
      peakSummary(
        usage({ peak_memory_bytes: 1.4 * GIB, memory_limit_bytes: 2 * GIB })
      )
    ).toBe('peak 1.4 GiB of 2 GiB');
    expect(peakSummary(usage({ peak_memory_bytes: 1024 }))).toBe('peak 1 KiB');
  });

  it('says CPU time in seconds, then minutes', () => {
    expect(formatCpuTime(3.74)).toBe('3.7 s');
    expect(formatCpuTime(125)).toBe('2m 5s');
  });
});

describe('charts', () => {
  const samples: IUsageSample[] = [
    { t: 100, cpu: 0, memory_bytes: 0 },
    { t: 102, cpu: 0.5, memory_bytes: GIB },
    { t: 104, cpu: 1, memory_bytes: 2 * GIB }
  ];

  it('scales CPU to at least one core and memory to its limit', () => {
    expect(chartMaximum(samples, 'cpu', null)).toBe(1);
    expect(
      chartMaximum([{ t: 1, cpu: 1.6, memory_bytes: 0 }], 'cpu', null)
    ).toBe(2);
    expect(chartMaximum(samples, 'memory_bytes', 4 * GIB)).toBe(4 * GIB);
    expect(chartMaximum(samples, 'memory_bytes', null)).toBe(2 * GIB);
    expect(chartMaximum([], 'memory_bytes', null)).toBe(1);
    expect(chartMaximum(samples, 'gpu', null)).toBe(100);
  });

  it('draws time left to right and zero at the bottom', () => {
    expect(chartPoints(samples, 'cpu', 1, 200, 40)).toBe('0,40 100,20 200,0');
    expect(chartPoints(samples, 'memory_bytes', 4 * GIB, 200, 40)).toBe(
      '0,40 100,30 200,20'
    );
  });

  it('clips values over the maximum and skips missing GPU readings', () => {
    expect(
      chartPoints([{ t: 1, cpu: 3, memory_bytes: 0 }], 'cpu', 1, 200, 40)
    ).toBe('200,0');
    expect(chartPoints(samples, 'gpu', 100, 200, 40)).toBe('');
  });
});

describe('imageType', () => {
  it('knows images the panel can show', () => {
    expect(imageType('plots/loss.PNG')).toBe('image/png');
    expect(imageType('a.jpeg')).toBe('image/jpeg');
    expect(imageType('report.html')).toBeUndefined();
    expect(imageType('model.ipynb')).toBeUndefined();
  });
});
