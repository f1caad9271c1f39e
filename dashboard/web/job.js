// One job: its state and fields, error or result, payload (capped by the server), attempts, its timeline
// of transitions, and its log lines where the local runtime keeps them; cancel and retry.
import { useState } from 'preact/hooks';
import { post, usePoll } from './api.js';
import { ActionButton, confirm, ErrorNote, html, StatusPill, TERMINAL, Time } from './ui.js';

const kb = (bytes) => (bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KB`);

function Content({ title, content, label }) {
  if (!content) return null;
  if (content.error)
    return html`<h2>${title}</h2>
      <p class="error">could not be read: ${content.error}</p>`;
  return html`<h2>${title}</h2>
    ${content.truncated ? html`<p class="muted">Showing the first ${kb(new TextEncoder().encode(content.text).length)} of ${kb(content.bytes)}.</p>` : null}
    <pre class="json" aria-label=${label}>${content.text}</pre>`;
}

function Timeline({ history }) {
  if (!history || history.length === 0) return null;
  return html`<h2>Timeline</h2>
    <table class="timeline" aria-label="timeline">
      <thead>
        <tr>
          <th>At</th>
          <th>State</th>
          <th class="num">Generation</th>
          <th class="num" title="the receive of the job’s SQS message that made the move">Receive</th>
          <th>Reason</th>
        </tr>
      </thead>
      <tbody>
        ${history.map(
          (h) =>
            html`<tr>
              <td><${Time} at=${h.at} /></td>
              <td>${h.state === 'CANCEL_REQUESTED' ? html`<span class="pill pill-cancelled">cancel requested</span>` : html`<${StatusPill} status=${h.state} />`}</td>
              <td class="num">${h.generation}</td>
              <td class="num">${h.attempt ?? '–'}</td>
              <td>${h.reason ?? ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function Logs({ logs, available }) {
  if (!available)
    return html`<h2>Log lines</h2>
      <p class="muted">A deployed stack's function logs are in CloudWatch Logs (each line carries the job id).</p>`;
  if (!logs) return null;
  return html`<h2>Log lines</h2>
    ${
      logs.lines.length === 0
        ? html`<p class="muted">No line of the local function logs names this job.</p>`
        : html`${logs.truncated ? html`<p class="muted">The newest ${logs.lines.length} lines.</p>` : null}
            <pre class="logs" aria-label="log lines">${logs.lines.map((l) => `${l.file.replace(/\.log$/, '').padEnd(18)} ${l.line}\n`)}</pre>`
    }`;
}

export function JobDetail({ config, jobId }) {
  const { data, error, refresh } = usePoll(`/api/jobs/${encodeURIComponent(jobId)}`, 2000);
  const [actionError, setActionError] = useState(undefined);
  const act = async (action) => {
    setActionError(undefined);
    const yes = await confirm(
      action === 'cancel'
        ? {
            title: 'Cancel this job?',
            text: `Job ${jobId} becomes CANCELLED (a running leased job is asked to stop). Retry runs it again later.`,
            action: 'Cancel the job',
            danger: true,
          }
        : { title: 'Retry this job?', text: `Job ${jobId} runs again as its next generation (the state machine's explicit retry).`, action: 'Retry the job' },
    );
    if (!yes) return;
    try {
      await post(`/api/jobs/${encodeURIComponent(jobId)}/${action}`);
    } catch (e) {
      setActionError(e);
    }
    await refresh();
  };
  if (!data)
    return html`<section>
      <h1>Job <span class="mono">${jobId}</span></h1>
      ${error ? html`<${ErrorNote} error=${error} />` : html`<p class="loading">Loading…</p>`}
    </section>`;
  const { job } = data;
  const fields = [
    ['Type', job.type],
    ['Generation', job.generation],
    ['Attempts', job.attempts],
    ['Idempotency-Key', job.idempotencyKey],
    ['Created', html`<${Time} at=${job.createdAt} />`],
    ['Runs at', job.runAt ? html`<${Time} at=${job.runAt} />` : undefined],
    ['Started', job.startedAt ? html`<${Time} at=${job.startedAt} />` : undefined],
    ['Finished', job.finishedAt ? html`<${Time} at=${job.finishedAt} />` : undefined],
    ['Updated', html`<${Time} at=${job.updatedAt} />`],
  ].filter(([, v]) => v !== undefined && v !== '');
  return html`<section>
    <h1>
      Job <span class="mono">${job.jobId}</span>
      <${StatusPill} status=${job.status} />${job.cancelRequested ? html` <span class="pill pill-cancelled">cancel requested</span>` : null}
    </h1>
    <div class="actions">
      ${!TERMINAL.has(job.status) ? html`<${ActionButton} readOnly=${config.readOnly} danger onClick=${() => act('cancel')}>Cancel…</${ActionButton}>` : null}
      ${job.status === 'FAILED' || job.status === 'CANCELLED' ? html`<${ActionButton} readOnly=${config.readOnly} onClick=${() => act('retry')}>Retry…</${ActionButton}>` : null}
      <a href=${`#/jobs?type=${encodeURIComponent(job.type)}`}>all ${job.type} jobs</a>
    </div>
    <${ErrorNote} error=${actionError ?? error} />
    <dl class="fields">
      ${fields.map(
        ([k, v]) =>
          html`<dt>${k}</dt>
            <dd>${v}</dd>`,
      )}
    </dl>
    ${
      job.error
        ? html`<h2>Error</h2>
            <pre class="error-block" aria-label="error">${job.error}</pre>`
        : null
    }
    <${Content} title="Result" content=${data.result} label="result" />
    <${Content} title="Payload" content=${data.payload} label="payload" />
    <${Timeline} history=${job.history} />
    <${Logs} logs=${data.logs} available=${config.logs} />
  </section>`;
}
