// The dead-letter queues: each type's depth; a peek at the parked messages (job id, jobline-reason, receive
// count; nothing is removed); a redrive that retries each FAILED or CANCELLED job through the state machine,
// with its progress.
import { useEffect, useState } from 'preact/hooks';
import { followTask, get, post, usePoll } from './api.js';
import { ActionButton, confirm, ErrorNote, html, ProgressBar, Time } from './ui.js';

function Peek({ type, readOnly, depth, onChange }) {
  const [peek, setPeek] = useState({ data: undefined, error: undefined });
  const [task, setTask] = useState(undefined);
  const [error, setError] = useState(undefined);
  const load = () =>
    get(`/api/dlq/${encodeURIComponent(type)}?limit=50`).then(
      (data) => setPeek({ data }),
      (e) => setPeek({ error: e }),
    );
  useEffect(() => {
    setPeek({});
    setTask(undefined);
    void load();
  }, [type]);

  const redrive = async () => {
    setError(undefined);
    const yes = await confirm({
      title: `Redrive the ${type} DLQ?`,
      text: `About ${depth} message(s): each job that is FAILED or CANCELLED in the message's generation is retried (a new generation) and its message deleted; a message of an earlier generation is deleted; anything else stays, with the reason.`,
      action: 'Redrive',
    });
    if (!yes) return;
    try {
      const started = await post(`/api/dlq/${encodeURIComponent(type)}/redrive`);
      setTask(started);
      const done = await followTask(started.id, setTask);
      if (done.state === 'failed') setError(new Error(done.error));
    } catch (e) {
      setError(e);
    }
    onChange();
    await load();
  };

  const messages = peek.data?.messages;
  const result = task?.state === 'succeeded' ? task.result : undefined;
  return html`<div>
    <div class="actions">
      <button type="button" onClick=${load}>Peek again</button>
      <${ActionButton} readOnly=${readOnly} onClick=${redrive} title="retry the jobs of the parked messages">Redrive…</${ActionButton}>
    </div>
    ${
      task
        ? html`<div class="task" aria-live="polite">
            <${ProgressBar} done=${task.progress.done} total=${task.progress.total} label=${task.title} />
            ${
              result
                ? html`<p class="done">${task.title}: ${result.retried} job(s) retried, ${result.deleted} stale message(s) deleted, ${result.kept} message(s) left in the DLQ</p>
                    ${
                      result.kept > 0
                        ? html`<ul class="kept">
                            ${result.messages.filter((m) => m.action === 'kept').map((m) => html`<li><span class="mono">${m.jobId ?? m.messageId}</span>: ${m.why}</li>`)}
                          </ul>`
                        : null
                    }`
                : null
            }
          </div>`
        : null
    }
    <${ErrorNote} error=${error ?? peek.error} />
    ${peek.data?.warning ? html`<p class="warning">${peek.data.warning}</p>` : null}
    ${
      !messages
        ? html`<p class="loading">Peeking…</p>`
        : messages.length === 0
          ? html`<p class="empty">The ${type} DLQ is empty.</p>`
          : html`<div class="table-wrap">
              <table class="dlq" aria-label="parked messages">
                <thead>
                  <tr>
                    <th>Job id</th>
                    <th>Reason</th>
                    <th class="num" title="jobline-receive-count: deliveries before it was parked">Receives</th>
                    <th class="num">Gen</th>
                    <th>Parked</th>
                    <th>By</th>
                  </tr>
                </thead>
                <tbody>
                  ${messages.map(
                    (m) =>
                      html`<tr data-message-id=${m.messageId}>
                        <td class="mono">${m.jobId ? html`<a href=${`#/job/${m.jobId}`}>${m.jobId}</a>` : '–'}</td>
                        <td class="error-text">${m.reason ?? m.malformed ?? ''}</td>
                        <td class="num">${m.receives ?? '–'}</td>
                        <td class="num">${m.generation ?? '–'}</td>
                        <td><${Time} at=${m.sentAt} /></td>
                        <td>${m.source}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
    }
  </div>`;
}

export function Dlqs({ config, type }) {
  const { data, error, refresh } = usePoll('/api/dlq', 5000);
  const selected = type ?? data?.dlqs.find((d) => d.messages > 0)?.type ?? config.jobTypes[0];
  const depth = data?.dlqs.find((d) => d.type === selected)?.messages ?? 0;
  return html`<section>
    <h1>Dead-letter queues</h1>
    <${ErrorNote} error=${error} />
    <nav class="tabs" aria-label="dead-letter queues">
      ${(data?.dlqs ?? config.jobTypes.map((t) => ({ type: t, messages: undefined }))).map(
        (d) =>
          html`<a href=${`#/dlq/${encodeURIComponent(d.type)}`} class=${d.type === selected ? 'tab active' : 'tab'} aria-current=${d.type === selected ? 'page' : undefined}>
            ${d.type} <span class=${d.messages > 0 ? 'badge parked' : 'badge'}>${d.messages ?? '…'}</span>
          </a>`,
      )}
    </nav>
    ${selected ? html`<${Peek} type=${selected} readOnly=${config.readOnly} depth=${depth} onChange=${refresh} />` : html`<p class="empty">No job types.</p>`}
  </section>`;
}
