// Light/dark switch. The page follows the system's colour scheme until the
// user flips it; the choice is remembered (see theme.ts).
import { useEffect, useState } from 'preact/hooks';
import { KEYS, load, save } from '../storage';
import { Theme, effectiveTheme, toggledPreference } from '../theme';

const darkQuery = () => globalThis.matchMedia?.('(prefers-color-scheme: dark)');

export function useTheme(): [Theme, () => void] {
  const [systemDark, setSystemDark] = useState(() => darkQuery()?.matches ?? false);
  const [stored, setStored] = useState(() => load(KEYS.theme));
  useEffect(() => {
    const mq = darkQuery();
    if (!mq) return;
    const on = () => setSystemDark(mq.matches);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  const theme = effectiveTheme(stored, systemDark);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  const toggle = () => {
    const next = toggledPreference(theme, systemDark);
    save(KEYS.theme, next);
    setStored(next);
  };
  return [theme, toggle];
}

export function ThemeToggle({ theme, onToggle }: { theme: Theme; onToggle: () => void }) {
  const other = theme === 'dark' ? 'light' : 'dark';
  return (
    <button type="button" class="icon-button" aria-label={`Switch to ${other} theme`} title={`Switch to ${other} theme`} onClick={onToggle}>
      <span aria-hidden="true">{theme === 'dark' ? '☀' : '☾'}</span>
    </button>
  );
}
