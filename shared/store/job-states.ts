/**
 * The job state machine: every state a job can be in and every transition between them, with who makes it
 * and the condition its write carries. The stores (submission-store.ts, job-store.ts, sweep-store.ts) are
 * the only code that moves a job, each move one conditional DynamoDB write named after its transition
 * here; the README's state table is rendered from this list (a unit test keeps the two equal).
 *
 * Three facts bind a message to its job: the job type, the payload hash and the generation. A message
 * whose type or hash differs from the record is not this job's (forged, or left over from a key reused
 * after the record expired) and is dropped; one of an older generation is a leftover of an earlier run
 * (a redrive after a retry) and is dropped too. Terminal states are terminal: no delivery moves a job out
 * of them; re-running a FAILED job is the explicit `retry` transition, which starts a new generation.
 *
 * The lifecycle's states: SCHEDULED (a job whose time has not come: no message on its queue yet) before
 * PENDING, and CANCELLED as a third terminal state. A cancel of a RUNNING job is a request (the record's
 * `cancelRequested`), not a state: the handler's signal is aborted and the handler decides whether its
 * effect happens (it returns: SUCCEEDED) or not (it throws: CANCELLED).
 */
export const JOB_STATUSES = ['SCHEDULED', 'PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
export const isTerminal = (status: JobStatus): boolean => TERMINAL_STATUSES.has(status);

export interface Transition {
  name: string;
  from: readonly (JobStatus | '(none)')[];
  to: JobStatus | '(unchanged)';
  by: string;
  /** The condition of the write, in words (the code's ConditionExpression says the same). */
  when: string;
}

export const TRANSITIONS: readonly Transition[] = [
  {
    name: 'submit',
    from: ['(none)'],
    to: 'PENDING',
    by: 'API',
    when: 'no live record has the job id (a key is scoped to its caller; an expired record counts as none); a delay of up to 15 minutes on a standard queue rides on the message (SQS DelaySeconds)',
  },
  {
    name: 'schedule',
    from: ['(none)'],
    to: 'SCHEDULED',
    by: 'API',
    when: 'as submit, with a run time beyond what SQS can delay (more than 15 minutes ahead, or any delay on a FIFO queue): no message is sent yet',
  },
  {
    name: 'enqueue',
    from: ['SCHEDULED'],
    to: 'PENDING',
    by: 'sweeper',
    when: 'its run time is less than 14 minutes away (standard queue: the message is sent with the rest as DelaySeconds) or has come (FIFO); the job is as the sweeper read it',
  },
  {
    name: 'claim',
    from: ['PENDING', 'RUNNING'],
    to: 'RUNNING',
    by: 'leased worker',
    when: "message's type, payload hash and generation equal the record's; PENDING, or RUNNING with an expired lease; its run time has come; no cancel was requested",
  },
  {
    name: 'complete',
    from: ['RUNNING'],
    to: 'SUCCEEDED',
    by: 'leased worker',
    when: 'the worker still holds the lease (also after a cancel request: the handler returned, so its effect happened)',
  },
  {
    name: 'commit',
    from: ['PENDING'],
    to: 'SUCCEEDED',
    by: 'transactional worker',
    when: "in one transaction with the handler's writes; type, payload hash and generation equal the message's (a CANCELLED job's commit fails: its writes never happen)",
  },
  {
    name: 'release',
    from: ['RUNNING', 'PENDING'],
    to: 'PENDING',
    by: 'worker',
    when: 'a transient failure to retry: leased, while holding the lease; transactional, same generation',
  },
  {
    name: 'time out',
    from: ['RUNNING'],
    to: '(unchanged)',
    by: 'leased worker',
    when: 'its handler ran past its time budget while the worker holds the lease: the reason is recorded and the lease kept (the handler may still run), so the next claim waits for it to expire',
  },
  {
    name: 'fail',
    from: ['PENDING', 'RUNNING'],
    to: 'FAILED',
    by: 'worker',
    when: 'a permanent error or the last allowed receive; same payload hash and generation, and no other worker holds a live lease',
  },
  {
    name: 'resend',
    from: ['PENDING', 'RUNNING'],
    to: '(unchanged)',
    by: 'sweeper',
    when: 'no progress for the stale time (message never sent or lost; RUNNING: lease long expired, its worker died): the message is sent again',
  },
  {
    name: 'give up',
    from: ['PENDING', 'RUNNING'],
    to: 'FAILED',
    by: 'sweeper',
    when: 'its attempts are spent (a worker died on the last receive), or no worker took it for longer than its queue keeps a message: a copy goes to the DLQ',
  },
  {
    name: 'cancel',
    from: ['SCHEDULED', 'PENDING'],
    to: 'CANCELLED',
    by: "the job's caller (POST /jobs/{id}/cancel)",
    when: 'the caller owns it; its message, when it comes, is dropped (the claim and the commit require PENDING)',
  },
  {
    name: 'request cancel',
    from: ['RUNNING'],
    to: '(unchanged)',
    by: "the job's caller (POST /jobs/{id}/cancel)",
    when: "the caller owns it: cancelRequested is set; the worker aborts the handler's signal",
  },
  {
    name: 'stop',
    from: ['RUNNING'],
    to: 'CANCELLED',
    by: 'leased worker, or sweeper',
    when: 'cancelRequested, and the handler threw after it (it stopped before its effect) while the worker holds the lease, or the lease expired (its worker died)',
  },
  {
    name: 'retry',
    from: ['FAILED', 'CANCELLED'],
    to: 'PENDING',
    by: "the job's caller (POST /jobs/{id}/retry)",
    when: 'the caller owns it: generation + 1, attempts kept, the last error stays in the history; it runs now (a run time it had is not kept)',
  },
];

/** The README's state table, as Markdown. */
export function renderStateTable(): string {
  const rows = TRANSITIONS.map((t) => `| ${t.from.join(', ')} | ${t.name} | ${t.to} | ${t.by} | ${t.when} |`);
  return ['| from | transition | to | who | condition |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}
