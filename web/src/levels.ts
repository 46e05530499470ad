// Log levels as the histogram colours them: a metric answer of
// `sum by (level, detected_level) (count_over_time(…))` turned into counts
// per level per histogram bar.
import { MetricData } from './api';

// Standard levels in drawing order (bottom first), with their colours.
export const LEVELS = ['critical', 'error', 'warn', 'info', 'debug', 'trace', 'unknown'] as const;
export type Level = (typeof LEVELS)[number];

export const LEVEL_COLORS: Record<Level, string> = {
  critical: '#a3127a',
  error: '#d62f2f',
  warn: '#e08a00',
  info: '#2f9e44',
  debug: '#1d6fd6',
  trace: '#7a4fd6',
  unknown: '#8a94a6',
};

// The level a series stands for: its `level` label, else `detected_level`,
// normalised to the standard names.
export function levelOf(metric: Record<string, string>): Level {
  const raw = (metric.level || metric.detected_level || '').toLowerCase();
  if (raw === 'fatal' || raw === 'critical' || raw === 'crit' || raw === 'panic' || raw === 'emerg' || raw === 'alert') return 'critical';
  if (raw.startsWith('err')) return 'error';
  if (raw.startsWith('warn') || raw === 'wrn') return 'warn';
  if (raw.startsWith('inf') || raw === 'notice') return 'info';
  if (raw.startsWith('debug') || raw === 'dbg') return 'debug';
  if (raw.startsWith('trac') || raw === 'trc') return 'trace';
  return 'unknown';
}

export type LevelBuckets = Partial<Record<Level, number>>[];

// Counts per level for `n` bars of `stepMs` from `startMs`. A point at t
// counts the lines of (t - step, t], the bar that ends at t.
export function levelBuckets(data: MetricData, startMs: number, stepMs: number, n: number): LevelBuckets {
  const out: LevelBuckets = Array.from({ length: n }, () => ({}));
  for (const s of data.result) {
    const level = levelOf(s.metric);
    for (const [t, v] of s.values ?? (s.value ? [s.value] : [])) {
      const i = Math.ceil((t * 1000 - startMs) / stepMs) - 1;
      if (i < 0 || i >= n) continue;
      out[i][level] = (out[i][level] ?? 0) + Number(v);
    }
  }
  return out;
}
