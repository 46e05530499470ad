// The time window: relative presets (5m … 7d) or an absolute from/to.
import { useState } from 'preact/hooks';
import { formatTimestamp, fromLocalInput, toLocalInput } from '../format';
import { PRESETS, TimeRange, describeDuration, resolveRange } from '../state';
import { Popover } from './Popover';

interface Props {
  range: TimeRange;
  onChange: (r: TimeRange) => void;
  disabled?: boolean;
}

export function describeRange(r: TimeRange): string {
  if (r.kind === 'relative') return describeDuration(r.duration);
  return `${formatTimestamp(r.startMs).slice(0, 19)} → ${formatTimestamp(r.endMs).slice(0, 19)}`;
}

export function TimePicker({ range, onChange, disabled }: Props) {
  const [open, setOpen] = useState(false);
  const now = Date.now();
  const w = resolveRange(range, now);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [invalid, setInvalid] = useState('');

  const toggle = (o: boolean) => {
    if (o) {
      setFrom(toLocalInput(w.startMs));
      setTo(toLocalInput(w.endMs));
      setInvalid('');
    }
    setOpen(o);
  };
  const choose = (r: TimeRange) => {
    setOpen(false);
    onChange(r);
  };
  const apply = (e: Event) => {
    e.preventDefault();
    const s = fromLocalInput(from);
    const t = fromLocalInput(to);
    if (Number.isNaN(s) || Number.isNaN(t)) return setInvalid('Enter both times.');
    if (s >= t) return setInvalid('"From" must be before "To".');
    // The inputs hold whole seconds: "To" covers its whole second.
    choose({ kind: 'absolute', startMs: s, endMs: t + 999 });
  };
  const label = describeRange(range);
  return (
    <Popover
      open={open && !disabled}
      setOpen={toggle}
      disabled={disabled}
      buttonClass="tp-button"
      buttonLabel={`Time range: ${label}`}
      panelLabel="Time range"
      button={
        <>
          <ClockIcon /> {label}
        </>
      }
    >
      <div class="tp-presets" role="group" aria-label="Relative ranges">
        {PRESETS.map((p) => (
          <button
            key={p}
            type="button"
            aria-pressed={range.kind === 'relative' && range.duration === p}
            aria-label={describeDuration(p)}
            onClick={() => choose({ kind: 'relative', duration: p })}
          >
            {p}
          </button>
        ))}
      </div>
      <form class="tp-absolute" onSubmit={apply}>
        <label>
          From
          <input type="datetime-local" step="1" value={from} onInput={(e) => setFrom(e.currentTarget.value)} required />
        </label>
        <label>
          To
          <input type="datetime-local" step="1" value={to} onInput={(e) => setTo(e.currentTarget.value)} required />
        </label>
        {invalid && (
          <p class="tp-invalid" role="alert">
            {invalid}
          </p>
        )}
        <button type="submit" class="primary">
          Apply range
        </button>
      </form>
    </Popover>
  );
}

function ClockIcon() {
  return (
    <svg class="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
      <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" stroke-width="1.5" />
      <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" />
    </svg>
  );
}
