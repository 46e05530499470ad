// Queries the user ran, newest first, kept in localStorage.
import { KEYS, KeyValueStore, load, save } from './storage';

// Entries kept: enough to find yesterday's query, few enough to scan by eye.
export const HISTORY_CAP = 30;

export function loadHistory(s?: KeyValueStore | null): string[] {
  try {
    const v = JSON.parse(load(KEYS.history, s) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

// The history with `query` moved (or added) to the front, capped.
export function withEntry(history: string[], query: string): string[] {
  const q = query.trim();
  if (!q) return history;
  return [q, ...history.filter((h) => h !== q)].slice(0, HISTORY_CAP);
}

export function remember(query: string, s?: KeyValueStore | null): string[] {
  const next = withEntry(loadHistory(s), query);
  save(KEYS.history, JSON.stringify(next), s);
  return next;
}
