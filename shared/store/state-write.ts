/**
 * The part of a DynamoDB update that moves a job to another state (job-states.ts): its status, its list
 * index partition (the index follows the state) and an entry in its timeline, always together, so that no
 * write can move a job without the index and the history following.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { historyEntryValue, listKeyOf, LIST_KEYS, type HistoryEntry } from './job-record';
import type { JobStatus } from './job-states';

export interface UpdateParts {
  /** Clauses for the update's SET, comma-separated. */
  set: string;
  names: Record<string, string>;
  values: Record<string, AttributeValue>;
}

const HISTORY_NAMES = { '#history': 'history' };

/** SET clauses that append `entry` to the job's timeline. */
export function appendHistory(entry: HistoryEntry): UpdateParts {
  return {
    set: '#history = list_append(if_not_exists(#history, :noHistory), :historyEntry)',
    names: HISTORY_NAMES,
    values: { ':noHistory': { L: [] }, ':historyEntry': { L: [historyEntryValue(entry)] } },
  };
}

/** SET clauses that move job `jobId` of `type` to `to`, with a timeline entry (`at`, generation, attempt, reason). */
export function moveTo(to: JobStatus, job: { jobId: string; type: string }, entry: Omit<HistoryEntry, 'state'>): UpdateParts {
  const history = appendHistory({ state: to, ...entry });
  return {
    set: `#status = :movedTo, #listKey = :movedListKey, ${history.set}`,
    names: { '#status': 'status', '#listKey': LIST_KEYS.partition, ...history.names },
    values: { ':movedTo': { S: to }, ':movedListKey': { S: listKeyOf(job.type, to, job.jobId) }, ...history.values },
  };
}
