// localStorage with failures ignored (private mode, quota, disabled storage):
// what the UI keeps there is a convenience, never needed to work.
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const KEYS = {
  apiKey: 'loge.apiKey',
  history: 'loge.history',
  theme: 'loge.theme',
  wrap: 'loge.wrap',
} as const;

function store(): KeyValueStore | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

export function load(key: string, s: KeyValueStore | null = store()): string | null {
  try {
    return s?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

export function save(key: string, value: string | null, s: KeyValueStore | null = store()): void {
  try {
    if (value === null) s?.removeItem(key);
    else s?.setItem(key, value);
  } catch {
    // Not kept: the UI works the same, it only forgets.
  }
}
