// The page: query bar and time window on top, the volume histogram, then
// the results (or the live tail). It owns the view state (mirrored in the
// URL), talks to the API, and turns its errors into the key prompt, an
// inline query error or the server-down banner.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api, ApiError, MetricData, VolumeResponse } from './api';
import { ApiKeyDialog } from './components/ApiKeyDialog';
import { Histogram } from './components/Histogram';
import { MetricChart } from './components/MetricChart';
import { Popover } from './components/Popover';
import { QueryBar } from './components/QueryBar';
import { Results } from './components/Results';
import { ThemeToggle, useTheme } from './components/ThemeToggle';
import { TimePicker } from './components/TimePicker';
import { formatCount } from './format';
import { makeHighlighter } from './highlight';
import { loadHistory, remember } from './history';
import { LevelBuckets, levelBuckets } from './levels';
import { ParseErrorInfo, addLabelFilter, addMatcher, isMetricQuery, levelVolumeQuery, lineFiltersOf, parseErrorPosition } from './logql';
import { Row, TAIL_CAP, mergeTail, rowMs, toRows } from './rows';
import { KEYS, load, save } from './storage';
import { LIMITS, TimeRange, ViewState, chooseStep, resolveRange, stateFromSearch, stateToSearch, widenRange } from './state';

// Live tail: how often it polls, how many rows one poll may bring, and the
// backlog it starts with (the newest rows of the last few minutes).
const TAIL_POLL_MS = 1000;
const TAIL_POLL_LIMIT = 1000;
const TAIL_BACKLOG_MS = 5 * 60_000;
const TAIL_BACKLOG_ROWS = 100;
// While the server is unreachable, how often the page checks for it.
const RETRY_MS = 5000;
// Label values are fetched again after this long.
const VALUES_TTL_MS = 30_000;

interface ResultsState {
  rows: Row[];
  stats?: Record<string, number>;
  tookMs?: number;
  limitHit?: boolean;
}

interface QueryError {
  text: string;
  info: ParseErrorInfo | null;
  query: string;
}

interface TailState {
  on: boolean;
  paused: boolean;
  gap: boolean; // a poll hit its row limit: some lines were skipped
}

// The tail's poll loop lives outside rendering; `gen` ends a stale loop.
interface TailLoop {
  gen: number;
  on: boolean;
  paused: boolean;
  query: string;
  sinceMs: number;
  rows: Row[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

export function App() {
  const initial = useMemo(() => stateFromSearch(location.search), []);
  const [view, setView] = useState<ViewState>(initial);
  const [draft, setDraft] = useState(initial.query);
  const [win, setWin] = useState(() => resolveRange(initial.range, Date.now()));
  const [stepMs, setStepMs] = useState(() => chooseStep(win.endMs - win.startMs));
  const [results, setResults] = useState<ResultsState>({ rows: [] });
  const [loading, setLoading] = useState(false);
  const [volume, setVolume] = useState<VolumeResponse | null>(null);
  const [levels, setLevels] = useState<LevelBuckets | null>(null);
  // A metric query's answer: drawn as a chart instead of the histogram and rows.
  const [metric, setMetric] = useState<MetricData | null>(null);
  const [queryError, setQueryError] = useState<QueryError | null>(null);
  // down: the server is unreachable (retried every few seconds); key: reads need an API key.
  const [banner, setBanner] = useState<{ down: boolean; text: string; key?: boolean } | null>(null);
  const [keyPrompt, setKeyPrompt] = useState<{ rejected: boolean } | null>(null);
  const [hasKey, setHasKey] = useState(() => load(KEYS.apiKey) !== null);
  const [queryHistory, setQueryHistory] = useState(() => loadHistory());
  const [historyOpen, setHistoryOpen] = useState(false);
  const [labels, setLabels] = useState<string[]>([]);
  const [wrap, setWrap] = useState(() => load(KEYS.wrap) === '1');
  const [tail, setTail] = useState<TailState>({ on: false, paused: false, gap: false });
  const [theme, toggleTheme] = useTheme();

  const keyRef = useRef<string | null>(load(KEYS.apiKey));
  const api = useMemo(() => new Api(() => keyRef.current), []);
  const retryRef = useRef<() => void>(() => undefined); // what to redo once a key is given or the server is back
  const abortRef = useRef<AbortController | null>(null);
  const winRef = useRef(win);
  winRef.current = win;
  const viewRef = useRef(view);
  viewRef.current = view;
  const tailLoop = useRef<TailLoop>({ gen: 0, on: false, paused: false, query: '', sinceMs: 0, rows: [], timer: undefined });
  const valuesCache = useRef(new Map<string, { at: number; p: Promise<string[]> }>());

  const handleError = useCallback((e: unknown, query: string, retry?: () => void) => {
    if ((e as Error)?.name === 'AbortError') return;
    if (!(e instanceof ApiError)) {
      setBanner({ down: false, text: `Unexpected error: ${String(e)}` });
      return;
    }
    if (retry && e.kind !== 'bad-request') retryRef.current = retry;
    switch (e.kind) {
      case 'unauthorized': {
        // Several requests fail at once; any that sent a key means it was refused.
        keyRef.current = null;
        save(KEYS.apiKey, null);
        setHasKey(false);
        setKeyPrompt((p) => ({ rejected: (p?.rejected ?? false) || e.keySent }));
        return;
      }
      case 'bad-request':
        setQueryError({ text: e.message, info: parseErrorPosition(query, e.message), query });
        return;
      case 'network':
        setBanner({ down: true, text: 'Cannot reach the loge server. Retrying every 5 seconds…' });
        return;
      case 'server':
        setBanner({ down: false, text: `The server could not answer: ${e.message}` });
        return;
    }
  }, []);

  const loadLabels = useCallback(() => {
    api.labels().then(setLabels, (e) => handleError(e, ''));
  }, [api, handleError]);

  const loadValues = useCallback(
    (name: string): Promise<string[]> => {
      const cached = valuesCache.current.get(name);
      if (cached && Date.now() - cached.at < VALUES_TTL_MS) return cached.p;
      const w = winRef.current;
      // The window's values first; a window without the label falls back to all time.
      const p = api
        .labelValues(name, w.startMs, w.endMs)
        .then((v) => (v.length > 0 ? v : api.labelValues(name, 0, Date.now() + 86_400_000)))
        .catch((e) => {
          valuesCache.current.delete(name);
          throw e;
        });
      valuesCache.current.set(name, { at: Date.now(), p });
      return p;
    },
    [api],
  );

  const stopTailLoop = () => {
    const t = tailLoop.current;
    t.on = false;
    t.gen++;
    clearTimeout(t.timer);
  };

  const run = useCallback(
    async (v: ViewState, push = true) => {
      stopTailLoop();
      setTail({ on: false, paused: false, gap: false });
      abortRef.current?.abort();
      const ac = new AbortController();
      abortRef.current = ac;
      setView(v);
      setDraft(v.query);
      if (push && stateToSearch(v) !== location.search) window.history.pushState(null, '', stateToSearch(v) || location.pathname);
      const w = resolveRange(v.range, Date.now());
      const step = chooseStep(w.endMs - w.startMs);
      setWin(w);
      setStepMs(step);
      setLoading(true);
      setQueryError(null);
      const t0 = performance.now();
      if (isMetricQuery(v.query)) {
        try {
          const m = await api.metric(v.query, w.startMs, w.endMs, step, ac.signal);
          if (ac.signal.aborted) return;
          setBanner(null);
          setMetric(m);
          setResults({ rows: [], tookMs: performance.now() - t0 });
          setVolume(null);
          setQueryHistory(remember(v.query));
        } catch (e) {
          if (ac.signal.aborted) return;
          setMetric(null);
          setResults({ rows: [] });
          handleError(e, v.query, () => run(v, false));
        }
        setLoading(false);
        return;
      }
      setMetric(null);
      const [q, vol, lv] = await Promise.allSettled([
        api.query(v.query, w.startMs, w.endMs, v.limit, ac.signal),
        api.volume(v.query, w.startMs, w.endMs, step, ac.signal),
        api.metric(levelVolumeQuery(v.query, step), w.startMs, w.endMs, step, ac.signal),
      ]);
      if (ac.signal.aborted) return;
      setLoading(false);
      if (q.status === 'rejected') {
        setResults({ rows: [] });
        setVolume(null);
        setLevels(null);
        handleError(q.reason, v.query, () => run(v, false));
        return;
      }
      setBanner(null);
      setResults({ rows: toRows(q.value.data), stats: q.value.stats, tookMs: performance.now() - t0, limitHit: q.value.data.length >= v.limit });
      const bars = vol.status === 'fulfilled' ? vol.value : null;
      setVolume(bars);
      setLevels(bars && lv.status === 'fulfilled' ? levelBuckets(lv.value, w.startMs, step, bars.counts.length) : null);
      if (v.query.trim()) setQueryHistory(remember(v.query));
    },
    [api, handleError],
  );

  const pollTail = useCallback(
    (gen: number, first: boolean) => {
      const t = tailLoop.current;
      if (!t.on || t.paused || t.gen !== gen) return;
      api.query(t.query, t.sinceMs, null, first ? TAIL_BACKLOG_ROWS : TAIL_POLL_LIMIT).then(
        (res) => {
          if (t.gen !== gen) return;
          const incoming = toRows(res.data);
          const merged = mergeTail(t.rows, incoming);
          t.rows = merged.rows;
          if (incoming.length > 0) t.sinceMs = Math.max(t.sinceMs, rowMs(incoming[0]));
          setBanner(null);
          if (merged.added > 0 || first) setResults({ rows: merged.rows, stats: res.stats });
          if (!first && incoming.length >= TAIL_POLL_LIMIT) setTail((s) => ({ ...s, gap: true }));
          t.timer = setTimeout(() => pollTail(gen, false), TAIL_POLL_MS);
        },
        (e) => {
          if (t.gen !== gen) return;
          handleError(e, t.query, () => resumeTail());
          if (e instanceof ApiError && e.kind === 'network') {
            t.timer = setTimeout(() => pollTail(gen, false), RETRY_MS);
          } else {
            t.paused = true;
            setTail((s) => ({ ...s, paused: true }));
          }
        },
      );
    },
    [api, handleError],
  );

  const startTail = useCallback(
    (query: string) => {
      abortRef.current?.abort();
      stopTailLoop();
      const t = tailLoop.current;
      Object.assign(t, { on: true, paused: false, query, sinceMs: Date.now() - TAIL_BACKLOG_MS, rows: [] });
      const next = { ...viewRef.current, query };
      if (stateToSearch(next) !== location.search) window.history.pushState(null, '', stateToSearch(next));
      setView(next);
      setDraft(query);
      setQueryError(null);
      setLoading(false);
      setResults({ rows: [] });
      setTail({ on: true, paused: false, gap: false });
      if (query.trim()) setQueryHistory(remember(query));
      pollTail(t.gen, true);
    },
    [pollTail],
  );

  const pauseTail = () => {
    const t = tailLoop.current;
    t.paused = true;
    clearTimeout(t.timer);
    setTail((s) => ({ ...s, paused: true }));
  };
  const resumeTail = () => {
    const t = tailLoop.current;
    if (!t.on) return;
    t.paused = false;
    t.gen++;
    setTail((s) => ({ ...s, paused: false }));
    pollTail(t.gen, false);
  };

  const runDraft = useCallback(() => {
    if (tailLoop.current.on) startTail(draft);
    else run({ ...view, query: draft });
  }, [draft, view, run, startTail]);

  const setRange = (range: TimeRange) => run({ ...view, query: draft, range });

  // A parsed field clicked in an expanded row: `| name="value"` on the query.
  const onAddLabelFilter = useCallback(
    (name: string, value: string) => {
      const q = addLabelFilter(draft, name, value);
      if (tailLoop.current.on) startTail(q);
      else run({ ...view, query: q });
    },
    [draft, view, run, startTail],
  );

  const onAddMatcher = useCallback(
    (name: string, value: string) => {
      const q = addMatcher(draft, name, value);
      if (tailLoop.current.on) startTail(q);
      else run({ ...view, query: q });
    },
    [draft, view, run, startTail],
  );

  // First load, and the back/forward buttons.
  useEffect(() => {
    run(initial, false);
    loadLabels();
    const onPop = () => run(stateFromSearch(location.search), false);
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  // Ctrl/Cmd+Enter runs the query from anywhere; "/" jumps to the query bar.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !(e.target as HTMLElement).closest?.('.qb')) {
        e.preventDefault();
        runDraft();
      } else if (e.key === '/' && !/^(INPUT|TEXTAREA|SELECT)$/.test((e.target as HTMLElement).tagName) && !keyPrompt) {
        e.preventDefault();
        document.querySelector<HTMLTextAreaElement>('.qb-input')?.focus();
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [runDraft, keyPrompt]);

  // While the server is down, look for it every few seconds.
  useEffect(() => {
    if (!banner?.down) return;
    const id = setInterval(() => {
      api.labels().then(
        (l) => {
          setLabels(l);
          setBanner(null);
          retryRef.current();
        },
        (e) => {
          if (e instanceof ApiError && e.kind !== 'network') handleError(e, '');
        },
      );
    }, RETRY_MS);
    return () => clearInterval(id);
  }, [banner, api, handleError]);

  useEffect(() => {
    document.title = view.query ? `${view.query} · loge` : 'loge';
  }, [view.query]);

  const submitKey = (key: string) => {
    keyRef.current = key;
    save(KEYS.apiKey, key);
    setHasKey(true);
    setKeyPrompt(null);
    setBanner((b) => (b?.key ? null : b));
    valuesCache.current.clear();
    loadLabels();
    retryRef.current();
  };

  const highlighter = useMemo(() => makeHighlighter(lineFiltersOf(tail.on ? tailLoop.current.query : view.query)), [view.query, tail.on]);
  const errorForBar = queryError && queryError.query === draft ? queryError.info : null;
  const stats = results.stats;
  const n = results.rows.length;

  return (
    <div class="app">
      {banner && (
        <div class={`banner${banner.down ? ' down' : ''}`} role="alert">
          <span>{banner.text}</span>
          {banner.key ? (
            <button type="button" class="small" onClick={() => setKeyPrompt({ rejected: false })}>
              Enter API key
            </button>
          ) : (
            <button type="button" class="small" onClick={() => retryRef.current()}>
              Retry now
            </button>
          )}
        </div>
      )}
      <header class="top">
        <h1 class="brand">loge</h1>
        <div class="query-row">
          <QueryBar
            value={draft}
            onChange={setDraft}
            onRun={runDraft}
            labels={labels}
            loadValues={loadValues}
            history={queryHistory}
            error={errorForBar}
            describedBy={queryError ? 'query-error' : undefined}
          />
          <Popover
            open={historyOpen}
            setOpen={setHistoryOpen}
            buttonLabel="Query history"
            buttonClass="icon-button"
            panelLabel="Query history"
            button={<span aria-hidden="true">⟲</span>}
          >
            {queryHistory.length === 0 ? (
              <p class="muted">Queries you run appear here.</p>
            ) : (
              <ul class="history-list">
                {queryHistory.map((h) => (
                  <li key={h}>
                    <button
                      type="button"
                      onClick={() => {
                        setHistoryOpen(false);
                        if (tailLoop.current.on) startTail(h);
                        else run({ ...view, query: h });
                      }}
                    >
                      {h}
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </Popover>
          <button type="button" class="primary run" onClick={runDraft} title="Run query (Enter or Ctrl/Cmd+Enter)">
            Run query
          </button>
        </div>
        <div class="controls">
          <TimePicker range={view.range} onChange={setRange} disabled={tail.on} />
          {!tail.on ? (
            <button type="button" onClick={() => startTail(draft)} title="Show new lines as they arrive">
              <span aria-hidden="true">●</span> Live tail
            </button>
          ) : (
            <>
              <button type="button" aria-pressed={tail.paused} onClick={tail.paused ? resumeTail : pauseTail}>
                {tail.paused ? 'Resume' : 'Pause'}
              </button>
              <button type="button" onClick={() => run({ ...view, query: draft }, false)}>
                Stop tail
              </button>
            </>
          )}
          <ThemeToggle theme={theme} onToggle={toggleTheme} />
          {hasKey && (
            <button type="button" class="icon-button" aria-label="Change API key" title="Change API key" onClick={() => setKeyPrompt({ rejected: false })}>
              <span aria-hidden="true">⚿</span>
            </button>
          )}
        </div>
      </header>
      {queryError && (
        <div id="query-error" class="query-error" role="alert">
          {queryError.info ? (
            <>
              <span>
                Query error at line {queryError.info.line}, column {queryError.info.col}: {queryError.info.message}
              </span>
              <pre class="caret" aria-hidden="true">
                {caretLines(queryError.query, queryError.info)}
              </pre>
            </>
          ) : (
            <span>{queryError.text}</span>
          )}
        </div>
      )}
      {!tail.on && metric && <MetricChart data={metric} startMs={win.startMs} endMs={win.endMs} stepMs={stepMs} />}
      {!tail.on && !metric && (
        <Histogram
          volume={volume}
          levels={levels}
          startMs={win.startMs}
          endMs={win.endMs}
          stepMs={stepMs}
          loading={loading}
          onNarrow={setRange}
          onZoomOut={() => setRange(widenRange(win.startMs, win.endMs, Date.now()))}
        />
      )}
      <div class="toolbar">
        <span class="status" role="status" aria-live="polite">
          {tail.on ? (
            <>
              <span class={`live-dot${tail.paused ? ' paused' : ''}`} aria-hidden="true" />
              {tail.paused ? 'Tail paused' : 'Live'} · {formatCount(n)} lines (keeps the newest {formatCount(TAIL_CAP)})
              {tail.gap ? ' · some lines were skipped: narrow the query' : ''}
            </>
          ) : loading ? (
            'Running query…'
          ) : metric ? (
            <span>
              {formatCount(metric.result.length)} series
              {results.tookMs !== undefined ? ` · ${Math.round(results.tookMs)} ms` : ''}
            </span>
          ) : stats ? (
            <span title={`files: ${stats.files_opened ?? 0} opened, ${stats.files_pruned ?? 0} skipped of ${stats.files_considered ?? 0}`}>
              {formatCount(n)} lines{results.limitHit ? ` (the limit of ${formatCount(view.limit)}: narrow the window or raise it)` : ''}
              {results.tookMs !== undefined ? ` · ${Math.round(results.tookMs)} ms` : ''}
            </span>
          ) : (
            ''
          )}
        </span>
        <label class="check">
          <input
            type="checkbox"
            checked={wrap}
            onChange={(e) => {
              setWrap(e.currentTarget.checked);
              save(KEYS.wrap, e.currentTarget.checked ? '1' : '0');
            }}
          />
          Wrap lines
        </label>
        <label class="limit">
          Limit
          <select value={String(view.limit)} disabled={tail.on} onChange={(e) => run({ ...view, query: draft, limit: Number(e.currentTarget.value) })}>
            {LIMITS.map((l) => (
              <option key={l} value={String(l)}>
                {formatCount(l)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {!metric && (
      <Results
        rows={results.rows}
        wrap={wrap}
        highlighter={highlighter}
        onAddMatcher={onAddMatcher}
        onAddLabelFilter={onAddLabelFilter}
        emptyText={
          tail.on
            ? 'Waiting for new lines…'
            : loading
              ? 'Loading…'
              : queryError || banner || keyPrompt || !stats
                ? ''
                : 'No lines match in this window. Try a wider time range.'
        }
      />
      )}
      {keyPrompt && (
        <ApiKeyDialog
          rejected={keyPrompt.rejected}
          onSubmit={submitKey}
          onCancel={() => {
            setKeyPrompt(null);
            if (!keyRef.current) setBanner({ down: false, key: true, text: 'This loge server needs an API key to read logs.' });
          }}
        />
      )}
    </div>
  );
}

// The query's error line with a caret under the error's column.
function caretLines(query: string, info: ParseErrorInfo): string {
  const lines = query.split('\n');
  const line = lines[info.line - 1] ?? '';
  const lineStart = lines.slice(0, info.line - 1).reduce((a, l) => a + l.length + 1, 0);
  const col = Math.max(0, info.index - lineStart);
  return `${line}\n${' '.repeat(col)}^`;
}
