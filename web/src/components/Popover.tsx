// A button that opens a panel below it: Esc or a click outside closes it and
// gives focus back to the button.
import { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

interface Props {
  open: boolean;
  setOpen: (open: boolean) => void;
  button: ComponentChildren;
  buttonLabel: string;
  buttonClass?: string;
  panelLabel: string;
  disabled?: boolean;
  children: ComponentChildren;
}

export function Popover({ open, setOpen, button, buttonLabel, buttonClass, panelLabel, disabled, children }: Props) {
  const root = useRef<HTMLDivElement>(null);
  const btn = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        btn.current?.focus();
      }
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    // Focus the panel's first control so the keyboard lands inside it.
    root.current?.querySelector<HTMLElement>('.popover button, .popover input')?.focus();
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open, setOpen]);
  return (
    <div class="popover-root" ref={root}>
      <button
        ref={btn}
        type="button"
        class={buttonClass}
        aria-haspopup="dialog"
        aria-expanded={open}
        aria-label={buttonLabel}
        disabled={disabled}
        onClick={() => setOpen(!open)}
      >
        {button}
      </button>
      {open && (
        <div class="popover" role="dialog" aria-label={panelLabel}>
          {children}
        </div>
      )}
    </div>
  );
}
