// Light and dark: the system's choice unless the user picked the other one,
// which is remembered. Picking what the system already shows forgets the
// choice, so the page follows the system again.
export type Theme = 'light' | 'dark';

export function effectiveTheme(stored: string | null, systemDark: boolean): Theme {
  if (stored === 'light' || stored === 'dark') return stored;
  return systemDark ? 'dark' : 'light';
}

// What to store after the toggle flips `current`: the new theme, or null
// when it is the system's.
export function toggledPreference(current: Theme, systemDark: boolean): Theme | null {
  const next: Theme = current === 'dark' ? 'light' : 'dark';
  return (next === 'dark') === systemDark ? null : next;
}
