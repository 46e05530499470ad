// Volume of matching lines over the window, one bar per step. Dragging
// across it (or clicking a bar) narrows the window to that span.
import { JSX } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { VolumeResponse } from '../api';
import { formatAxisTime, formatCount, formatTimestamp } from '../format';
import { LEVELS, LEVEL_COLORS, LevelBuckets } from '../levels';
import { TimeRange, narrowRange } from '../state';

interface Props {
  volume: VolumeResponse | null;
  // Counts per level per bar (the level-volume query), to colour the bars;
  // null draws them in one colour.
  levels: LevelBuckets | null;
  startMs: number;
  endMs: number;
  stepMs: number;
  loading: boolean;
  onNarrow: (r: TimeRange) => void;
  onZoomOut: () => void;
}

// Pixels the pointer must move before a press becomes a drag, not a click.
const DRAG_THRESHOLD_PX = 4;
const AXIS_TICKS = 5;

export function Histogram({ volume, levels, startMs, endMs, stepMs, loading, onNarrow, onZoomOut }: Props) {
  const plot = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<{ from: number; to: number; x0: number } | null>(null);
  const [hover, setHover] = useState<number | null>(null);
  const counts = volume?.counts ?? [];
  const max = Math.max(1, ...counts);
  const span = Math.max(endMs - startMs, 1);

  const frac = (e: PointerEvent) => {
    const r = plot.current!.getBoundingClientRect();
    return Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
  };
  const barAt = (f: number) => Math.min(counts.length - 1, Math.floor((f * span) / stepMs));

  const onDown = (e: JSX.TargetedPointerEvent<HTMLDivElement>) => {
    if (e.button !== 0 || counts.length === 0) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    const f = frac(e);
    setDrag({ from: f, to: f, x0: e.clientX });
  };
  const onMove = (e: JSX.TargetedPointerEvent<HTMLDivElement>) => {
    const f = frac(e);
    if (drag) setDrag({ ...drag, to: f });
    setHover(counts.length ? barAt(f) : null);
  };
  const onUp = (e: JSX.TargetedPointerEvent<HTMLDivElement>) => {
    if (!drag) return;
    const f = frac(e);
    setDrag(null);
    if (Math.abs(e.clientX - drag.x0) >= DRAG_THRESHOLD_PX) {
      onNarrow(narrowRange(startMs, endMs, drag.from, f));
    } else {
      const i = barAt(f);
      const s = startMs + i * stepMs;
      onNarrow({ kind: 'absolute', startMs: s, endMs: Math.min(endMs, s + stepMs) });
    }
  };

  const total = volume?.total ?? 0;
  const label = volume
    ? `${formatCount(total)} matching lines between ${formatTimestamp(startMs)} and ${formatTimestamp(endMs)}`
    : 'Volume of matching lines';
  const sel = drag ? [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)] : null;
  const hoverStart = hover !== null ? startMs + hover * stepMs : 0;
  return (
    <section class="hist" aria-label="Volume histogram">
      <div class="hist-head">
        <span class="hist-total" aria-live="polite">
          {volume ? `${formatCount(total)} lines in window` : loading ? 'Counting…' : ''}
          {volume?.truncated ? ' (partial: scan limit reached)' : ''}
        </span>
        <span class="hist-hint">Drag across the bars to zoom in</span>
        <button type="button" class="small" onClick={onZoomOut}>
          Zoom out
        </button>
      </div>
      <div
        class={`hist-plot${loading ? ' loading' : ''}`}
        ref={plot}
        role="img"
        aria-label={label}
        data-testid="histogram"
        onPointerDown={onDown}
        onPointerMove={onMove}
        onPointerUp={onUp}
        onPointerLeave={() => setHover(null)}
      >
        {counts.map((c, i) => (
          <div
            key={i}
            class={`hist-bar${hover === i ? ' hover' : ''}`}
            style={{ left: `${((i * stepMs) / span) * 100}%`, width: `${(Math.min(stepMs, span - i * stepMs) / span) * 100}%` }}
          >
            <Fill count={c} max={max} levels={levels?.[i]} />
          </div>
        ))}
        {sel && <div class="hist-sel" style={{ left: `${sel[0] * 100}%`, width: `${(sel[1] - sel[0]) * 100}%` }} />}
        {hover !== null && !drag && counts[hover] !== undefined && (
          <div class="hist-tip" style={{ left: `${Math.min(80, ((hover * stepMs) / span) * 100)}%` }}>
            {formatTimestamp(hoverStart).slice(11, 19)}: {formatCount(counts[hover])} lines
            {levels?.[hover] &&
              LEVELS.filter((l) => levels[hover][l]).map((l) => (
                <span key={l} class="hist-tip-level">
                  {' '}
                  · {l} {formatCount(levels[hover][l] ?? 0)}
                </span>
              ))}
          </div>
        )}
      </div>
      <div class="hist-axis" aria-hidden="true">
        {Array.from({ length: AXIS_TICKS }, (_, i) => (
          <span key={i}>{formatAxisTime(startMs + (span * i) / (AXIS_TICKS - 1), span, stepMs)}</span>
        ))}
      </div>
    </section>
  );
}

// One bar's fill: stacked by level (bottom: the most severe) when the level
// counts are known, else one block.
function Fill({ count, max, levels }: { count: number; max: number; levels?: Partial<Record<string, number>> }) {
  const height = (count / max) * 100;
  const total = levels ? LEVELS.reduce((a, l) => a + (levels[l] ?? 0), 0) : 0;
  if (!levels || total === 0) return <div class="hist-fill" style={{ height: `${height}%` }} />;
  return (
    <div class="hist-stack" style={{ height: `${height}%` }}>
      {LEVELS.filter((l) => levels[l]).map((l) => (
        <div
          key={l}
          class="hist-seg"
          data-level={l}
          style={{ height: `${((levels[l] ?? 0) / total) * 100}%`, background: LEVEL_COLORS[l] }}
        />
      ))}
    </div>
  );
}
