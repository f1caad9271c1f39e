/**
 * What a job's terminal state sends out, and which table changes are one. The jobs table's stream
 * (NEW_AND_OLD_IMAGES) reaches the notifier only through NOTIFY_FILTERS, the event source mapping's
 * FilterCriteria: a JOB# record whose new status is terminal and whose old one was not (or that was
 * inserted terminal). So a write to a finished job that does not change its state (an operator's touch,
 * a field update) and every non-terminal transition cost no invocation at all; the notifier checks the
 * same predicate again (`isTerminalTransition`) before it sends anything.
 *
 * Each terminal state gives one EventBridge event (source `jobline`, detail-type `Job Succeeded`,
 * `Job Failed`, `Job Cancelled`..., detail = the job's view) and, for a job with a callback URL, one
 * callback message; both are at least once, keyed by `<jobId>.<generation>`.
 */
import { TERMINAL_STATUSES } from '../store/job-states';

export const EVENT_SOURCE = 'jobline';

/** The statuses that are terminal, as the filters name them. */
export const TERMINAL = [...TERMINAL_STATUSES] as string[];

/** `SUCCEEDED` → `Job Succeeded`. */
export function detailTypeOf(status: string): string {
  return `Job ${status.charAt(0)}${status.slice(1).toLowerCase()}`;
}

/** The idempotency key of a job's terminal notification: one per job and generation. */
export const notificationKey = (jobId: string, generation: number) => `${jobId}.${generation}`;

const jobRecord = { Keys: { pk: { S: [{ prefix: 'JOB#' }] } } };

/**
 * The FilterCriteria patterns of the notifier's stream source (ORed): a change into a terminal state from
 * a state that was not terminal; a new item (no old image) in a terminal state. Only the `dynamodb` key:
 * DynamoDB event source mappings filter on nothing else.
 */
export const NOTIFY_FILTERS: readonly Record<string, unknown>[] = [
  { dynamodb: { ...jobRecord, NewImage: { status: { S: TERMINAL } }, OldImage: { status: { S: [{ 'anything-but': TERMINAL }] } } } },
  { dynamodb: { ...jobRecord, NewImage: { status: { S: TERMINAL } }, OldImage: { pk: { S: [{ exists: false }] } } } },
];

/** The same rule as NOTIFY_FILTERS, on the two statuses (undefined: no old image, an insert). */
export function isTerminalTransition(oldStatus: string | undefined, newStatus: string | undefined): boolean {
  if (newStatus === undefined || !TERMINAL.includes(newStatus)) return false;
  return oldStatus === undefined || !TERMINAL.includes(oldStatus);
}

/** The message the notifier sends to the callback queue; the callback worker POSTs `view` to `url`. */
export interface CallbackMessage {
  v: 1;
  jobId: string;
  generation: number;
  status: string;
  /** The detail-type of the job's event (`Job Succeeded`...), sent as the Jobline-Event header. */
  event: string;
  url: string;
  /** The job's view at its terminal state (what GET /jobs/{id} showed then). */
  view: Record<string, unknown>;
}

export function parseCallbackMessage(body: string): CallbackMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  const m = value as Partial<CallbackMessage> | null;
  if (!m || m.v !== 1 || typeof m.jobId !== 'string' || typeof m.generation !== 'number' || typeof m.url !== 'string' || typeof m.event !== 'string') return undefined;
  if (typeof m.view !== 'object' || m.view === null || typeof m.status !== 'string') return undefined;
  return m as CallbackMessage;
}
