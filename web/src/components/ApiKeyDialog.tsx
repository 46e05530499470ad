// Asks for the API key when the server answers 401. The key is kept in this
// browser's localStorage and sent as `Authorization: Bearer <key>`.
import { useEffect, useRef, useState } from 'preact/hooks';

interface Props {
  rejected: boolean; // a key was sent and refused
  onSubmit: (key: string) => void;
  onCancel: () => void;
}

export function ApiKeyDialog({ rejected, onSubmit, onCancel }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [key, setKey] = useState('');
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="key-dialog"
      aria-labelledby="key-title"
      aria-describedby="key-desc"
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (key.trim()) onSubmit(key.trim());
        }}
      >
        <h2 id="key-title">API key required</h2>
        <p id="key-desc">
          {rejected && <strong class="error-text">The server did not accept that key. </strong>}
          This loge server needs an API key to read logs. It is kept in this browser and sent with every request.
        </p>
        <label for="api-key-input">API key</label>
        <input
          id="api-key-input"
          type="password"
          autocomplete="off"
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          required
          autoFocus
        />
        <div class="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Save key
          </button>
        </div>
      </form>
    </dialog>
  );
}
