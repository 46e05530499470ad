// A metric query's answer as a time-series chart: one line per series over
// the window, a legend naming each series, and the values at the step under
// the pointer.
import { useMemo, useState } from 'preact/hooks';
import { JSX } from 'preact';
import { MetricData } from '../api';
import { formatAxisTime, formatTimestamp } from '../format';

interface Props {
  data: MetricData;
  startMs: number;
  endMs: number;
  stepMs: number;
}

// Line colours, cycled: distinct on light and dark backgrounds.
const PALETTE = ['#1d6fd6', '#d62f2f', '#2f9e44', '#e08a00', '#7a4fd6', '#0f9aa8', '#c2185b', '#6d7a00', '#5d4037', '#455a64'];
const WIDTH = 1000;
const HEIGHT = 240;
const AXIS_TICKS = 5;

export interface ChartSeries {
  name: string; // {a="b", …}
  color: string;
  points: [number, number][]; // (ms, value), oldest first
}

// Series with numeric points; a vector's single value becomes one point.
export function chartSeries(data: MetricData): ChartSeries[] {
  return data.result.map((s, i) => ({
    name: seriesName(s.metric),
    color: PALETTE[i % PALETTE.length],
    points: (s.values ?? (s.value ? [s.value] : [])).map(([t, v]) => [t * 1000, Number(v)] as [number, number]),
  }));
}

export function seriesName(metric: Record<string, string>): string {
  const parts = Object.entries(metric).map(([k, v]) => `${k}="${v}"`);
  return `{${parts.join(', ')}}`;
}

export function MetricChart({ data, startMs, endMs, stepMs }: Props) {
  const series = useMemo(() => chartSeries(data), [data]);
  const [hoverMs, setHoverMs] = useState<number | null>(null);
  let max = 0;
  let min = 0;
  for (const s of series) {
    for (const [, v] of s.points) {
      if (Number.isFinite(v)) {
        max = Math.max(max, v);
        min = Math.min(min, v);
      }
    }
  }
  if (max === min) max = min + 1;
  const span = Math.max(endMs - startMs, 1);
  const x = (ms: number) => ((ms - startMs) / span) * WIDTH;
  const y = (v: number) => HEIGHT - ((v - min) / (max - min)) * HEIGHT;

  const onMove = (e: JSX.TargetedPointerEvent<SVGSVGElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    const ms = startMs + ((e.clientX - r.left) / r.width) * span;
    setHoverMs(Math.round((ms - startMs) / stepMs) * stepMs + startMs);
  };
  const at = (s: ChartSeries) => {
    if (hoverMs === null) return undefined;
    let best: [number, number] | undefined;
    for (const p of s.points) {
      if (Math.abs(p[0] - hoverMs) <= stepMs / 2 && (!best || Math.abs(p[0] - hoverMs) < Math.abs(best[0] - hoverMs))) best = p;
    }
    return best;
  };
  return (
    <section class="metric" aria-label="Metric chart" data-testid="metric-chart">
      <div class="metric-plot">
        <svg
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          preserveAspectRatio="none"
          role="img"
          aria-label={`${series.length} series`}
          onPointerMove={onMove}
          onPointerLeave={() => setHoverMs(null)}
        >
          {series.map((s) => (
            <polyline
              key={s.name}
              class="metric-line"
              data-series={s.name}
              fill="none"
              stroke={s.color}
              stroke-width="2"
              vector-effect="non-scaling-stroke"
              points={s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}
            />
          ))}
          {series.map((s) =>
            s.points.length === 1 ? (
              <circle key={`${s.name}-dot`} cx={x(s.points[0][0])} cy={y(s.points[0][1])} r="4" fill={s.color} />
            ) : null,
          )}
          {hoverMs !== null && <line class="metric-cursor" x1={x(hoverMs)} x2={x(hoverMs)} y1="0" y2={HEIGHT} />}
        </svg>
        <div class="metric-y" aria-hidden="true">
          <span>{formatValue(max)}</span>
          <span>{formatValue(min)}</span>
        </div>
        {hoverMs !== null && (
          <div class="metric-tip" role="tooltip" style={{ left: `${Math.min(70, Math.max(0, (x(hoverMs) / WIDTH) * 100))}%` }}>
            <div class="metric-tip-time">{formatTimestamp(hoverMs)}</div>
            {series.map((s) => {
              const p = at(s);
              return p ? (
                <div key={s.name} class="metric-tip-row">
                  <span class="swatch" style={{ background: s.color }} /> {s.name}: <b>{formatValue(p[1])}</b>
                </div>
              ) : null;
            })}
          </div>
        )}
      </div>
      <div class="hist-axis" aria-hidden="true">
        {Array.from({ length: AXIS_TICKS }, (_, i) => (
          <span key={i}>{formatAxisTime(startMs + (span * i) / (AXIS_TICKS - 1), span, stepMs)}</span>
        ))}
      </div>
      <ul class="metric-legend" aria-label="Series">
        {series.length === 0 && <li class="muted">No series in this window.</li>}
        {series.map((s) => (
          <li key={s.name}>
            <span class="swatch" style={{ background: s.color }} />
            <span class="metric-name">{s.name}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000 || Number.isInteger(v)) return v.toLocaleString('en-US', { maximumFractionDigits: 2 });
  return Number(v.toPrecision(4)).toString();
}
