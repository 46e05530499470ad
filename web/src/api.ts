// The loge HTTP API as the UI uses it. Every call sends the API key, when
// there is one, as a bearer token, and fails with an ApiError of a kind the
// UI treats differently: `unauthorized` asks for the key, `bad-request`
// shows the message by the query, `network` and `server` show a banner.
import { ApiRow } from './rows';
import { msToNs } from './state';

export type ApiErrorKind = 'unauthorized' | 'bad-request' | 'server' | 'network';

export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly status = 0,
    readonly keySent = false, // the request carried an API key (so a 401 refused it)
  ) {
    super(message);
  }
}

export interface QueryResponse {
  data: ApiRow[];
  stats: Record<string, number>;
}

// A metric query's answer, in Loki's shapes: a matrix holds [seconds,
// "value"] points per series; a vector one `value` each.
export interface MetricSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

export interface MetricData {
  resultType: 'matrix' | 'vector' | 'scalar';
  result: MetricSeries[];
  step?: number; // ns
}

export interface VolumeResponse {
  start: number;
  end: number;
  step: number;
  counts: number[];
  total: number;
  rows_scanned: number;
  truncated: boolean;
}

export class Api {
  constructor(
    private readonly getKey: () => string | null,
    private readonly base = '',
  ) {}

  private async call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const headers = new Headers(init.headers);
    const key = this.getKey();
    if (key) headers.set('Authorization', `Bearer ${key}`);
    let res: Response;
    try {
      res = await fetch(this.base + path, { ...init, headers });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      throw new ApiError('network', 'The loge server cannot be reached.');
    }
    let body: { status?: string; error?: string; data?: unknown } | null = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    if (res.status === 401) throw new ApiError('unauthorized', body?.error ?? 'API key required', 401, Boolean(key));
    if (res.status >= 400 && res.status < 500) throw new ApiError('bad-request', body?.error ?? `HTTP ${res.status}`, res.status);
    if (!res.ok || !body) throw new ApiError('server', body?.error ?? `The server answered HTTP ${res.status}.`, res.status);
    return body as T;
  }

  // Newest-first rows in [startMs, endMs]; endMs null = no upper bound (tail).
  async query(query: string, startMs: number, endMs: number | null, limit: number, signal?: AbortSignal): Promise<QueryResponse> {
    const body: Record<string, unknown> = { start: msToNs(startMs), limit };
    if (endMs !== null) body.end = msToNs(endMs);
    if (query.trim()) body.query = query;
    return this.call<QueryResponse>('/api/v1/query', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
  }

  // A metric query over [startMs, endMs] at stepMs (Loki's matrix).
  async metric(query: string, startMs: number, endMs: number, stepMs: number, signal?: AbortSignal): Promise<MetricData> {
    const body = { query, start: msToNs(startMs), end: msToNs(endMs), step: msToNs(stepMs) };
    const res = await this.call<{ data: MetricData }>('/api/v1/query', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
    return res.data;
  }

  async volume(query: string, startMs: number, endMs: number, stepMs: number, signal?: AbortSignal): Promise<VolumeResponse> {
    const p = new URLSearchParams({ start: msToNs(startMs), end: msToNs(endMs), step: msToNs(stepMs) });
    if (query.trim()) p.set('query', query);
    return (await this.call<{ data: VolumeResponse }>(`/api/v1/volume?${p}`, { signal })).data;
  }

  async labels(): Promise<string[]> {
    return (await this.call<{ data: string[] }>('/api/v1/labels')).data ?? [];
  }

  async labelValues(name: string, startMs: number, endMs: number): Promise<string[]> {
    const p = new URLSearchParams({ start: msToNs(startMs), end: msToNs(endMs) });
    return (await this.call<{ data: string[] }>(`/api/v1/label/${encodeURIComponent(name)}/values?${p}`)).data ?? [];
  }
}
