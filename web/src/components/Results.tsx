// The log lines, newest first, in a virtualised list: only the rows in view
// (plus a margin) are in the DOM, placed at offsets computed from measured
// heights, so thousands of rows scroll as smoothly as ten. A row shows its
// local time, label chips (a click adds the label to the query) and the line
// with the matched text marked; expanding it pretty-prints a JSON line and
// lists labels and metadata.
import { JSX } from 'preact';
import { memo } from 'preact/compat';
import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';
import { formatTimestamp, prettyJson } from '../format';
import { Highlighter, highlightSegments } from '../highlight';
import { Row, rowMs } from '../rows';
import { computeOffsets, visibleRange } from '../virtual';

interface Props {
  rows: Row[];
  wrap: boolean;
  highlighter: Highlighter;
  onAddMatcher: (name: string, value: string) => void;
  onAddLabelFilter: (name: string, value: string) => void;
  emptyText: string;
}

// A one-line row's height before it is measured; wrapped and expanded rows
// are measured once drawn.
const ESTIMATED_ROW_PX = 26;
const OVERSCAN_ROWS = 10;

export function Results({ rows, wrap, highlighter, onAddMatcher, onAddLabelFilter, emptyText }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<number, number>());
  const [, remeasured] = useReducer((n: number) => n + 1, 0);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const [expanded, setExpanded] = useState<Set<number>>(new Set());
  const [focusRow, setFocusRow] = useState(0);
  const firstId = useRef<number | null>(null);

  // Heights of wrapped rows change with the wrap mode.
  useEffect(() => heights.current.clear(), [wrap]);

  const observer = useMemo(() => {
    let frame = 0;
    return new ResizeObserver((entries) => {
      let changed = false;
      for (const e of entries) {
        const id = Number((e.target as HTMLElement).dataset.id);
        const h = Math.ceil(e.borderBoxSize?.[0]?.blockSize ?? (e.target as HTMLElement).offsetHeight);
        if (h > 0 && heights.current.get(id) !== h) {
          heights.current.set(id, h);
          changed = true;
        }
      }
      if (changed && !frame) {
        frame = requestAnimationFrame(() => {
          frame = 0;
          remeasured(0);
        });
      }
    });
  }, []);
  useEffect(() => () => observer.disconnect(), [observer]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewport(el.clientHeight));
    ro.observe(el);
    setViewport(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  const offsets = computeOffsets(rows.length, (i) => heights.current.get(rows[i].id) ?? ESTIMATED_ROW_PX);

  // Rows arriving on top (live tail) must not push what the reader is
  // looking at down: keep the scroll position anchored to the old first row.
  // A new answer (the old first row is gone) starts at the top.
  useLayoutEffect(() => {
    const el = scroller.current;
    const prev = firstId.current;
    firstId.current = rows[0]?.id ?? null;
    // Forget the heights of rows no longer shown (a long tail drops many).
    if (heights.current.size > 2 * rows.length + 100) {
      const keep = new Set(rows.map((r) => r.id));
      for (const id of heights.current.keys()) if (!keep.has(id)) heights.current.delete(id);
    }
    if (!el || prev === null || rows[0]?.id === prev) return;
    const k = rows.findIndex((r) => r.id === prev);
    if (k < 0) {
      el.scrollTop = 0;
      setScrollTop(0);
      setFocusRow(0);
    } else if (k > 0 && el.scrollTop > 0) {
      el.scrollTop += offsets[k];
    }
  }, [rows]);

  const [start, end] = visibleRange(offsets, scrollTop, viewport, OVERSCAN_ROWS);

  const toggle = useCallback((id: number) => {
    setExpanded((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);

  // ↑/↓ move between rows, Enter expands, Home/End jump.
  const onKeyDown = (e: JSX.TargetedKeyboardEvent<HTMLDivElement>) => {
    if (rows.length === 0 || (e.target as HTMLElement).tagName === 'BUTTON') return;
    let i = focusRow;
    if (e.key === 'ArrowDown') i = Math.min(rows.length - 1, i + 1);
    else if (e.key === 'ArrowUp') i = Math.max(0, i - 1);
    else if (e.key === 'Home') i = 0;
    else if (e.key === 'End') i = rows.length - 1;
    else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      toggle(rows[i].id);
      return;
    } else return;
    e.preventDefault();
    setFocusRow(i);
    const el = scroller.current!;
    if (offsets[i] < el.scrollTop) el.scrollTop = offsets[i];
    else if (offsets[i + 1] > el.scrollTop + el.clientHeight) el.scrollTop = offsets[i + 1] - el.clientHeight;
  };

  const items: JSX.Element[] = [];
  for (let i = start; i < end; i++) {
    const r = rows[i];
    items.push(
      <RowView
        key={r.id}
        row={r}
        index={i}
        total={rows.length}
        top={offsets[i]}
        expanded={expanded.has(r.id)}
        focused={i === focusRow}
        highlighter={highlighter}
        observer={observer}
        onToggle={toggle}
        onAddMatcher={onAddMatcher}
        onAddLabelFilter={onAddLabelFilter}
      />,
    );
  }
  return (
    <div
      class={`results${wrap ? ' wrap' : ''}`}
      ref={scroller}
      tabIndex={0}
      role="list"
      aria-label={`Log lines, newest first (${rows.length})`}
      aria-activedescendant={rows[focusRow] ? `row-${rows[focusRow].id}` : undefined}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      {rows.length === 0 ? (
        <p class="empty">{emptyText}</p>
      ) : (
        <div class="results-inner" style={{ height: `${offsets[rows.length]}px` }}>
          {items}
        </div>
      )}
    </div>
  );
}

interface RowProps {
  row: Row;
  index: number;
  total: number;
  top: number;
  expanded: boolean;
  focused: boolean;
  highlighter: Highlighter;
  observer: ResizeObserver;
  onToggle: (id: number) => void;
  onAddMatcher: (name: string, value: string) => void;
  onAddLabelFilter: (name: string, value: string) => void;
}

const RowView = memo(function RowView(p: RowProps) {
  const { row, expanded, highlighter } = p;
  const el = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const node = el.current!;
    p.observer.observe(node);
    return () => p.observer.unobserve(node);
  }, [p.observer]);
  const ms = rowMs(row);
  const json = expanded ? prettyJson(row.line) : null;
  return (
    <div
      ref={el}
      id={`row-${row.id}`}
      data-id={row.id}
      class={`row${expanded ? ' expanded' : ''}${p.focused ? ' focused' : ''}`}
      style={{ transform: `translateY(${p.top}px)` }}
      role="listitem"
      aria-setsize={p.total}
      aria-posinset={p.index + 1}
    >
      <div class="row-main">
        <button
          type="button"
          class="row-toggle"
          aria-expanded={expanded}
          aria-label={expanded ? 'Collapse line' : 'Expand line'}
          onClick={() => p.onToggle(row.id)}
        >
          {expanded ? '▾' : '▸'}
        </button>
        <time class="row-ts" dateTime={new Date(ms).toISOString()}>
          {formatTimestamp(ms)}
        </time>
        <span class="row-labels">
          {Object.entries(row.labels).map(([k, v]) => (
            <button
              key={k}
              type="button"
              class="chip"
              title={`Add ${k}="${v}" to the query`}
              aria-label={`Filter by ${k}=${v}`}
              onClick={() => p.onAddMatcher(k, v)}
            >
              <span class="chip-k">{k}</span>=<span class="chip-v">{v}</span>
            </button>
          ))}
        </span>
        <span
          class="row-line"
          // A click expands; a drag that selected text (to copy it) does not.
          onClick={() => !getSelection()?.toString() && p.onToggle(row.id)}
        >
          <Marked text={row.line} highlighter={highlighter} />
        </span>
      </div>
      {expanded && (
        <div class="row-detail">
          <pre class={json ? 'json' : 'text'}>
            <Marked text={json ?? row.line} highlighter={highlighter} />
          </pre>
          <dl>
            {Object.entries(row.labels).map(([k, v]) => (
              <div key={`l-${k}`}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
            {Object.entries(row.metadata ?? {}).map(([k, v]) => (
              <div key={`m-${k}`} class="meta">
                <dt>{k}</dt>
                <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
              </div>
            ))}
            {Object.entries(row.parsed ?? {}).map(([k, v]) => (
              <div key={`p-${k}`} class="parsed">
                <dt>{k}</dt>
                <dd>
                  <button
                    type="button"
                    class="field"
                    title={`Add | ${k}="${v}" to the query`}
                    aria-label={`Filter by parsed field ${k}=${v}`}
                    onClick={() => p.onAddLabelFilter(k, v)}
                  >
                    {v}
                  </button>
                </dd>
              </div>
            ))}
          </dl>
        </div>
      )}
    </div>
  );
});

function Marked({ text, highlighter }: { text: string; highlighter: Highlighter }) {
  return (
    <>
      {highlightSegments(text, highlighter).map((s, i) => (s.match ? <mark key={i}>{s.text}</mark> : s.text))}
    </>
  );
}
