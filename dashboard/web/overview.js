// The overview: per job type, jobs by state, queue and DLQ, the oldest waiting job; problem types first;
// jobs ended per minute and the failure rate over the last half hour (uPlot, loaded as a classic script).
import { useEffect, useRef, useState } from 'preact/hooks';
import { usePoll } from './api.js';
import { age, ErrorNote, html, STATES, Time } from './ui.js';

const REFRESH_MS = 5000;

const percent = (rate) => (rate === null || rate === undefined ? '–' : `${Math.round(rate * 100)}%`);

function count(row, state) {
  if (!row.jobs) return '–';
  return `${row.jobs[state] ?? 0}${row.capped.includes(state) ? '+' : ''}`;
}

function ThroughputChart({ minutes, succeeded, failed }) {
  const box = useRef(undefined);
  const chart = useRef(undefined);
  const rate = succeeded.map((s, i) => (s + failed[i] === 0 ? null : (100 * failed[i]) / (s + failed[i])));
  const data = [minutes, succeeded, failed, rate];
  useEffect(() => {
    const width = () => Math.max(320, box.current.clientWidth);
    chart.current = new window.uPlot(
      {
        width: width(),
        height: 220,
        scales: { x: { time: true }, rate: { range: [0, 100] } },
        series: [
          {},
          { label: 'succeeded / min', stroke: '#2e7d32', fill: 'rgba(46,125,50,0.10)', width: 2 },
          { label: 'failed / min', stroke: '#c62828', fill: 'rgba(198,40,40,0.10)', width: 2 },
          { label: 'failure rate %', stroke: '#ef6c00', dash: [6, 4], width: 1.5, scale: 'rate', spanGaps: false },
        ],
        axes: [{}, { label: 'jobs / min' }, { side: 1, scale: 'rate', label: 'failed %', grid: { show: false } }],
      },
      data,
      box.current,
    );
    const resize = () => chart.current.setSize({ width: width(), height: 220 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.current.destroy();
    };
  }, []);
  useEffect(() => chart.current?.setData(data), [JSON.stringify(data)]);
  return html`<div class="chart" ref=${box} aria-label="jobs ended per minute and failure rate, last 30 minutes"></div>`;
}

function sum(rows, key) {
  return rows.length === 0 ? [] : rows[0][key].map((_, i) => rows.reduce((total, r) => total + r[key][i], 0));
}

export function Overview() {
  const { data, error } = usePoll('/api/overview', REFRESH_MS);
  const [chartType, setChartType] = useState('');
  if (!data)
    return html`<section>
      <h1>Overview</h1>
      ${error ? html`<${ErrorNote} error=${error} />` : html`<p class="loading">Counting jobs…</p>`}
    </section>`;
  const problems = data.types.filter((t) => t.problems.length > 0);
  const charted = chartType ? data.types.filter((t) => t.type === chartType) : data.types;
  return html`<section>
    <h1>Overview</h1>
    <p class="muted">${data.target} · updated <${Time} at=${data.generatedAt} /> · refreshes every ${REFRESH_MS / 1000} s</p>
    <${ErrorNote} error=${error} />
    ${
      problems.length > 0
        ? html`<div class="problems" role="region" aria-label="problems">
            <h2>Needs a look</h2>
            <ul>
              ${problems.map(
                (t) =>
                  html`<li>
                    <a href=${`#/jobs?type=${encodeURIComponent(t.type)}&state=FAILED`}><strong>${t.type}</strong></a
                    >: ${t.problems.join('; ')}
                  </li>`,
              )}
            </ul>
          </div>`
        : html`<p class="all-well">No problems: no DLQ messages, failure rates and waits within bounds.</p>`
    }
    ${data.listing ? null : html`<p class="warning">This API has no GET /jobs (a jobline older than the lifecycle endpoints): queue columns only.</p>`}
    <div class="table-wrap">
      <table class="overview">
        <thead>
          <tr>
            <th>Job type</th>
            ${STATES.map((s) => html`<th class="num">${s}</th>`)}
            <th class="num" title="jobs that ended in the last 5 minutes, per minute">Done / min</th>
            <th class="num" title="of the jobs that ended in the last 5 minutes">Failure rate</th>
            <th class="num" title="messages waiting / in flight / delayed">Queue</th>
            <th class="num" title="the oldest PENDING job">Oldest waiting</th>
            <th class="num">DLQ</th>
          </tr>
        </thead>
        <tbody>
          ${data.types.map(
            (row) =>
              html`<tr class=${row.problems.length > 0 ? 'problem' : ''} data-type=${row.type}>
                <th scope="row">${row.type}</th>
                ${STATES.map(
                  (s) =>
                    html`<td class="num">
                      <a
                        class=${row.jobs?.[s] > 0 ? `count count-${s.toLowerCase()}` : 'count'}
                        href=${`#/jobs?type=${encodeURIComponent(row.type)}&state=${s}`}
                        aria-label=${`${row.type} ${s}`}
                        >${count(row, s)}</a
                      >
                    </td>`,
                )}
                <td class="num">${row.recent.perMinute}</td>
                <td class="num">${percent(row.recent.failureRate)}</td>
                <td class="num">${row.queue.waiting} / ${row.queue.inFlight} / ${row.queue.delayed}</td>
                <td class="num">${age(row.oldestPendingSeconds)}</td>
                <td class="num">
                  <a class=${row.dlq.messages > 0 ? 'dlq-depth parked' : 'dlq-depth'} href=${`#/dlq/${encodeURIComponent(row.type)}`} aria-label=${`${row.type} DLQ`}
                    >${row.dlq.messages}</a
                  >
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <h2>
      Jobs ended per minute, last 30 minutes
      <select aria-label="chart job type" value=${chartType} onChange=${(e) => setChartType(e.currentTarget.value)}>
        <option value="">all types</option>
        ${data.types.map((t) => html`<option value=${t.type}>${t.type}</option>`)}
      </select>
    </h2>
    <${ThroughputChart} minutes=${data.minutes} succeeded=${sum(charted, 'succeeded')} failed=${sum(charted, 'failed')} />
  </section>`;
}
