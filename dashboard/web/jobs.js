// The job browser: filter by type, state and creation time; find by job id or Idempotency-Key; page through
// newest first; cancel or retry every job a filter matches.
import { useState } from 'preact/hooks';
import { followTask, get, post, usePoll, withQuery } from './api.js';
import { ActionButton, confirm, ErrorNote, html, ProgressBar, STATES, StatusPill, Time } from './ui.js';

const REFRESH_MS = 3000;
const PAGE_SIZE = 25;

/** An ISO time as a datetime-local input's value (the browser's zone), and back. */
const toLocalInput = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};
const fromLocalInput = (value) => (value ? new Date(value).toISOString() : undefined);

export function describeFilter(filter, states) {
  const what = filter.state ?? states.join(' and ');
  const when = [
    filter.createdAfter ? `created after ${new Date(filter.createdAfter).toLocaleString()}` : '',
    filter.createdBefore ? `before ${new Date(filter.createdBefore).toLocaleString()}` : '',
  ]
    .filter(Boolean)
    .join(' and ');
  return `every ${what} job${filter.type ? ` of type ${filter.type}` : ' of every type'}${when ? `, ${when}` : ''}`;
}

const BULK_STATES = { cancel: ['SCHEDULED', 'PENDING', 'RUNNING'], retry: ['FAILED', 'CANCELLED'] };

function BulkActions({ filter, readOnly, onDone }) {
  const [task, setTask] = useState(undefined);
  const [error, setError] = useState(undefined);
  const run = async (action) => {
    setError(undefined);
    const states = BULK_STATES[action];
    if (filter.state && !states.includes(filter.state)) {
      setError(new Error(`${action} applies to ${states.join(' and ')} jobs: the filter's state is ${filter.state}`));
      return;
    }
    const yes = await confirm({
      title: `${action === 'cancel' ? 'Cancel' : 'Retry'} every matching job?`,
      text: `This will ${action} ${describeFilter(filter, states)}. Each job moves by its own conditional write, as a single ${action} would.`,
      action: action === 'cancel' ? 'Cancel them' : 'Retry them',
      danger: action === 'cancel',
    });
    if (!yes) return;
    try {
      const started = await post(`/api/bulk/${action}`, filter);
      setTask(started);
      const done = await followTask(started.id, setTask);
      if (done.state === 'failed') setError(new Error(done.error));
      onDone();
    } catch (e) {
      setError(e);
    }
  };
  return html`<div class="bulk">
    <${ActionButton} readOnly=${readOnly} onClick=${() => run('retry')} title="retry every FAILED or CANCELLED job the filter matches">Retry matching…</${ActionButton}>
    <${ActionButton} readOnly=${readOnly} danger onClick=${() => run('cancel')} title="cancel every SCHEDULED, PENDING or RUNNING job the filter matches">Cancel matching…</${ActionButton}>
    ${
      task
        ? html`<div class="task" aria-live="polite">
            <${ProgressBar} done=${task.progress.done} total=${task.progress.total} label=${task.title} />
            ${task.state === 'succeeded' ? html`<p class="done">${task.title}: ${task.result.matched} matched, ${task.result.changed} changed, ${task.result.skipped} skipped</p>` : null}
          </div>`
        : null
    }
    <${ErrorNote} error=${error} />
  </div>`;
}

function JobRows({ jobs }) {
  if (jobs.length === 0) return html`<p class="empty">No jobs match.</p>`;
  return html`<div class="table-wrap">
    <table class="jobs">
      <thead>
        <tr>
          <th>Job id</th>
          <th>Type</th>
          <th>Status</th>
          <th class="num">Attempts</th>
          <th>Created</th>
          <th>Finished</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        ${jobs.map(
          (j) =>
            html`<tr data-job-id=${j.jobId}>
              <td class="mono"><a href=${`#/job/${j.jobId}`}>${j.jobId}</a></td>
              <td>${j.type}</td>
              <td><${StatusPill} status=${j.status} /></td>
              <td class="num">${j.attempts}</td>
              <td><${Time} at=${j.createdAt} /></td>
              <td><${Time} at=${j.finishedAt} /></td>
              <td class="error-text" title=${j.error ?? ''}>${j.error ?? ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

export function JobBrowser({ config, query, navigate }) {
  const filter = Object.fromEntries(['type', 'state', 'createdAfter', 'createdBefore'].filter((k) => query.get(k)).map((k) => [k, query.get(k)]));
  const [search, setSearch] = useState({ text: '', results: undefined, error: undefined });
  // The cursor of each page after the first, for this filter only (a cursor belongs to its query).
  const key = JSON.stringify(filter);
  const [pages, setPages] = useState({ key, cursors: [] });
  const cursors = pages.key === key ? pages.cursors : [];
  const setCursors = (next) => setPages({ key, cursors: next });
  const cursor = cursors.at(-1);
  const path = withQuery('/api/jobs', { ...filter, limit: PAGE_SIZE, cursor });
  // Only the first page follows new jobs live: a later page stays as it was read.
  const { data, error, refresh } = usePoll(path, cursor ? 0 : REFRESH_MS);
  const setFilter = (name, value) => navigate(withQuery('#/jobs', { ...filter, [name]: value }));

  const find = async (event) => {
    event.preventDefault();
    const text = search.text.trim();
    if (!text) return setSearch({ text, results: undefined, error: undefined });
    try {
      const { jobs } = await get(withQuery('/api/search', { q: text, type: filter.type }));
      setSearch({ text, results: jobs, error: undefined });
    } catch (e) {
      setSearch({ text, results: undefined, error: e });
    }
  };

  return html`<section>
    <h1>Jobs</h1>
    <p class="muted">${config.target}: the jobs of the caller the dashboard runs as, newest first.</p>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label
        >Type
        <select name="type" value=${filter.type ?? ''} onChange=${(e) => setFilter('type', e.currentTarget.value)}>
          <option value="">all types</option>
          ${config.jobTypes.map((t) => html`<option value=${t}>${t}</option>`)}
        </select>
      </label>
      <label
        >State
        <select name="state" value=${filter.state ?? ''} onChange=${(e) => setFilter('state', e.currentTarget.value)}>
          <option value="">all states</option>
          ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      <label
        >Created after
        <input
          type="datetime-local"
          name="createdAfter"
          value=${toLocalInput(filter.createdAfter)}
          onChange=${(e) => setFilter('createdAfter', fromLocalInput(e.currentTarget.value))}
        />
      </label>
      <label
        >Created before
        <input
          type="datetime-local"
          name="createdBefore"
          value=${toLocalInput(filter.createdBefore)}
          onChange=${(e) => setFilter('createdBefore', fromLocalInput(e.currentTarget.value))}
        />
      </label>
      ${Object.keys(filter).length > 0 ? html`<button type="button" onClick=${() => navigate('#/jobs')}>Clear filters</button>` : null}
    </form>
    <form class="search" role="search" onSubmit=${find}>
      <label
        >Find
        <input type="search" name="q" placeholder="job id or Idempotency-Key" value=${search.text} onInput=${(e) => setSearch({ ...search, text: e.currentTarget.value })} />
      </label>
      <button type="submit">Find</button>
      ${search.results ? html`<button type="button" onClick=${() => setSearch({ text: '', results: undefined, error: undefined })}>Back to the list</button>` : null}
    </form>
    <${ErrorNote} error=${search.error} />
    ${
      search.results
        ? html`<div class="search-results" aria-label="search results">
            <h2>${search.results.length === 0 ? 'Nothing found' : `Found ${search.results.length}`} for “${search.text}”</h2>
            <${JobRows} jobs=${search.results} />
          </div>`
        : html`<div>
            <${BulkActions} filter=${filter} readOnly=${config.readOnly} onDone=${refresh} />
            <${ErrorNote} error=${error} />
            ${data ? html`<${JobRows} jobs=${data.jobs} />` : html`<p class="loading">Loading…</p>`}
            <nav class="pager" aria-label="pages">
              <button type="button" disabled=${cursors.length === 0} onClick=${() => setCursors(cursors.slice(0, -1))}>← Newer</button>
              <span>page ${cursors.length + 1}${cursor ? '' : ' (live)'}</span>
              <button type="button" disabled=${!data?.cursor} onClick=${() => setCursors([...cursors, data.cursor])}>Older →</button>
            </nav>
          </div>`
    }
  </section>`;
}
