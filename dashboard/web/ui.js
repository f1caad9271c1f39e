// Small pieces every view uses: the html tag, states, times, the confirmation dialog, progress, errors.
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

export const STATES = ['SCHEDULED', 'PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];
export const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export const StatusPill = ({ status }) => html`<span class=${`pill pill-${status.toLowerCase()}`}>${status}</span>`;

/** "12 s", "4 min", "3 h", "2 d". */
export function age(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

/** A time shown in the browser's zone, the exact ISO time on hover. */
export const Time = ({ at }) => {
  if (!at) return html`<span class="muted">–</span>`;
  const date = new Date(at);
  return html`<time datetime=${date.toISOString()} title=${date.toISOString()}>${date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' })}</time>`;
};

export const ErrorNote = ({ error }) => (error ? html`<p class="error" role="alert">${error.message ?? String(error)}</p>` : null);

export const ProgressBar = ({ done, total, label }) => {
  const known = typeof total === 'number' && total > 0;
  return html`<div class="progress" role="progressbar" aria-label=${label} aria-valuemin="0" aria-valuemax=${known ? total : undefined} aria-valuenow=${done}>
    <div class="progress-fill" style=${`width: ${known ? Math.min(100, (100 * done) / total) : 100}%`}></div>
    <span class="progress-text">${label}: ${done}${known ? ` / ${total}` : ''}</span>
  </div>`;
};

// ---- confirmation ------------------------------------------------------------------------------------------
// One dialog for the page: confirm({ title, text, action }) opens it and resolves true (confirmed) or false.
let openDialog = () => Promise.resolve(false);

export function confirm(question) {
  return openDialog(question);
}

export function ConfirmHost() {
  const [question, setQuestion] = useState(undefined);
  const resolver = useRef(undefined);
  const dialog = useRef(undefined);
  openDialog = (q) =>
    new Promise((resolve) => {
      resolver.current = resolve;
      setQuestion(q);
    });
  useEffect(() => {
    if (question && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [question]);
  const answer = (yes) => {
    dialog.current?.close();
    setQuestion(undefined);
    resolver.current?.(yes);
    resolver.current = undefined;
  };
  if (!question) return null;
  return html`<dialog ref=${dialog} class="confirm" aria-labelledby="confirm-title" onCancel=${(e) => (e.preventDefault(), answer(false))}>
    <h2 id="confirm-title">${question.title}</h2>
    <p>${question.text}</p>
    <div class="dialog-buttons">
      <button type="button" onClick=${() => answer(false)}>Keep as it is</button>
      <button type="button" class=${question.danger ? 'danger' : 'primary'} onClick=${() => answer(true)}>${question.action}</button>
    </div>
  </dialog>`;
}

/** A button for an action: disabled in read-only mode (the server refuses it too), and while it runs. */
export function ActionButton({ readOnly, onClick, children, danger, title }) {
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    try {
      await onClick();
    } finally {
      setBusy(false);
    }
  };
  return html`<button
    type="button"
    class=${danger ? 'danger' : 'primary'}
    disabled=${readOnly || busy}
    title=${readOnly ? 'read-only dashboard (--read-only)' : title}
    onClick=${run}
  >
    ${children}
  </button>`;
}
