// The query bar: a textarea over a highlighted copy of its text (the text
// itself is transparent, so the colours show through and the caret, the
// selection and the editing stay the browser's own), with a completion list.
//
// Keys: Enter or Ctrl/Cmd+Enter runs the query, Shift+Enter adds a line;
// while the list is open ↑/↓ move, Enter/Tab accept, Esc closes;
// Ctrl+Space opens it.
import { JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { CompletionContext, Suggestion, applySuggestion, completionContext, suggest } from '../completion';
import { ParseErrorInfo, Token, tokenize } from '../logql';

interface Props {
  value: string;
  onChange: (v: string) => void;
  onRun: () => void;
  labels: string[];
  loadValues: (label: string) => Promise<string[]>;
  history: string[];
  error: ParseErrorInfo | null; // marks the error's position in the text
  describedBy?: string;
}

export function QueryBar(props: Props) {
  const { value, onChange, onRun, labels, loadValues, history, error } = props;
  const ta = useRef<HTMLTextAreaElement>(null);
  const hl = useRef<HTMLPreElement>(null);
  const [ctx, setCtx] = useState<CompletionContext>({ kind: 'none' });
  const [values, setValues] = useState<{ label: string; list: string[] }>({ label: '', list: [] });
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const pendingCursor = useRef<number | null>(null);

  const list: Suggestion[] = open ? suggest(ctx, labels, ctx.kind === 'label-value' && values.label === ctx.label ? values.list : [], history) : [];

  // Grow with the text: the textarea is as tall as its content.
  useLayoutEffect(() => {
    const el = ta.current;
    if (!el) return;
    el.style.height = '0px';
    el.style.height = `${el.scrollHeight}px`;
    if (pendingCursor.current !== null) {
      el.setSelectionRange(pendingCursor.current, pendingCursor.current);
      pendingCursor.current = null;
    }
  }, [value]);

  useEffect(() => {
    if (ctx.kind !== 'label-value' || values.label === ctx.label) return;
    let live = true;
    loadValues(ctx.label).then(
      (list) => live && setValues({ label: ctx.label, list }),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [ctx, values.label, loadValues]);

  const refresh = (text: string, cursor: number, show: boolean) => {
    const c = completionContext(text, cursor);
    setCtx(c);
    setActive(0);
    setOpen(show && c.kind !== 'none');
  };

  const accept = (s: Suggestion) => {
    const r = applySuggestion(value, s);
    pendingCursor.current = r.cursor;
    onChange(r.text);
    // A label name is followed by its values, a value by nothing.
    const next = completionContext(r.text, r.cursor);
    setCtx(next);
    setActive(0);
    setOpen(next.kind === 'label-value');
  };

  const onKeyDown = (e: JSX.TargetedKeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      setOpen(false);
      onRun();
      return;
    }
    if (open && list.length > 0) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const d = e.key === 'ArrowDown' ? 1 : -1;
        setActive((a) => (a + d + list.length) % list.length);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        accept(list[Math.min(active, list.length - 1)]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        setOpen(false);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      setOpen(false);
      onRun();
    } else if (e.key === ' ' && e.ctrlKey) {
      e.preventDefault();
      refresh(value, e.currentTarget.selectionStart, true);
    }
  };

  const syncScroll = () => {
    if (hl.current && ta.current) hl.current.scrollTop = ta.current.scrollTop;
  };

  const activeId = open && list.length > 0 ? `qb-opt-${Math.min(active, list.length - 1)}` : undefined;
  return (
    <div class="qb">
      <pre class="qb-hl" ref={hl} aria-hidden="true">
        {renderHighlighted(value, error)}
      </pre>
      <textarea
        ref={ta}
        class="qb-input"
        rows={1}
        value={value}
        spellcheck={false}
        autocomplete="off"
        autocapitalize="off"
        placeholder='Type a LogQL selector, e.g. {app="web"} |= "error"'
        aria-label="LogQL query"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={open && list.length > 0}
        aria-controls="qb-suggestions"
        aria-activedescendant={activeId}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={props.describedBy}
        onInput={(e) => {
          const el = e.currentTarget;
          onChange(el.value);
          refresh(el.value, el.selectionStart, true);
        }}
        onKeyDown={onKeyDown}
        onClick={(e) => refresh(value, e.currentTarget.selectionStart, value === '')}
        onFocus={(e) => value === '' && refresh(value, e.currentTarget.selectionStart, true)}
        onBlur={() => setOpen(false)}
        onScroll={syncScroll}
      />
      {open && list.length > 0 && (
        <ul id="qb-suggestions" class="qb-list" role="listbox" aria-label="Suggestions">
          {list.map((s, i) => (
            <li
              key={`${s.label}-${i}`}
              id={`qb-opt-${i}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? 'active' : ''}
              // mousedown, not click: the textarea must keep focus.
              onMouseDown={(e) => {
                e.preventDefault();
                accept(s);
              }}
              onMouseEnter={() => setActive(i)}
            >
              <span class="qb-opt-label">{s.label}</span>
              <span class="qb-opt-detail">{s.detail}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// The text as coloured token spans; the token at the error (or a marker
// after the end) gets a wavy underline.
function renderHighlighted(src: string, error: ParseErrorInfo | null) {
  const tokens = tokenize(src);
  const errAt = error ? Math.min(error.index, src.length) : -1;
  const out: JSX.Element[] = tokens.map((t: Token, i) => {
    const isErr = errAt >= t.start && errAt < t.end;
    return (
      <span key={i} class={`tk-${t.kind}${isErr ? ' tk-err' : ''}`}>
        {t.text}
      </span>
    );
  });
  // An error at the very end ("expected string after |=") marks the gap there.
  if (errAt === src.length && error) out.push(<span key="err" class="tk-err tk-err-end">{' '}</span>);
  // A trailing newline needs a character after it to take up its line.
  out.push(<span key="end">{'\u200b'}</span>);
  return out;
}
