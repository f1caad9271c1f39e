// The dashboard page: a header with the target and the views, routed by the URL's hash so that every view
// (a filtered job list, a job, a DLQ) is a link that can be bookmarked or shared.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get } from './api.js';
import { Dlqs } from './dlq.js';
import { JobDetail } from './job.js';
import { JobBrowser } from './jobs.js';
import { Overview } from './overview.js';
import { ConfirmHost, ErrorNote, html } from './ui.js';

function parseHash(hash) {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  const parts = (path || '/overview').split('/').filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] ?? 'overview', arg: parts[1], query: new URLSearchParams(query) };
}

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

const navigate = (hash) => {
  location.hash = hash.replace(/^#/, '');
};

function App() {
  const [config, setConfig] = useState({ data: undefined, error: undefined });
  useEffect(() => {
    get('/api/config').then(
      (data) => setConfig({ data }),
      (error) => setConfig({ error }),
    );
  }, []);
  const route = parseHash(useHash());
  if (!config.data) return html`<main>${config.error ? html`<${ErrorNote} error=${config.error} />` : html`<p class="loading">Loading…</p>`}</main>`;
  const c = config.data;
  const link = (view, label) => html`<a href=${`#/${view}`} class=${route.view === view || (view === 'jobs' && route.view === 'job') ? 'active' : ''}>${label}</a>`;
  let body;
  if (route.view === 'jobs') body = html`<${JobBrowser} config=${c} query=${route.query} navigate=${navigate} />`;
  else if (route.view === 'job' && route.arg) body = html`<${JobDetail} key=${route.arg} config=${c} jobId=${route.arg} />`;
  else if (route.view === 'dlq') body = html`<${Dlqs} config=${c} type=${route.arg} />`;
  else body = html`<${Overview} />`;
  return html`<header>
      <span class="brand">jobline</span>
      <nav aria-label="views">${link('overview', 'Overview')} ${link('jobs', 'Jobs')} ${link('dlq', 'DLQs')}</nav>
      <span class="target" title=${c.target}>${c.kind === 'local' ? 'local runtime' : c.target}</span>
      ${c.readOnly ? html`<span class="read-only" title="started with --read-only: actions are disabled and refused">read-only</span>` : null}
    </header>
    <main>${body}</main>
    <${ConfirmHost} />`;
}

const root = document.getElementById('app');
root.textContent = ''; // the "Loading" line shown until the modules arrive
render(html`<${App} />`, root);
