/**
 * A caller's jobs, newest first, by type and state: Queries of the list index (one per type, state and
 * shard, side by side), merged by creation time, then one BatchGetItem for the page's records. A page costs
 * the same round trips among a hundred jobs or millions: (types × states × shards) Queries and one read.
 * The index is eventually consistent: a job that moved on since its entry was read is left out of a page
 * of its old state (it is listed under its new one).
 */
import { BatchGetItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { fromItem, isExpired, jobKey, LIST_INDEX, LIST_KEYS, LIST_SHARDS, listSortOf, type Item, type JobRecord } from './job-record';
import type { JobStatus } from './job-states';

export const MAX_LIST_LIMIT = 100;

export interface ListQuery {
  owner: string;
  types: readonly string[];
  states: readonly JobStatus[];
  limit: number;
  /** ISO 8601 bounds on the creation time (inclusive). */
  createdAfter?: string;
  createdBefore?: string;
  /** Where the previous page ended (its `cursor`). */
  cursor?: string;
}

export interface ListPage {
  jobs: JobRecord[];
  /** Pass it back for the next page; absent after the last one. */
  cursor?: string;
  /** DynamoDB requests this page took (the bench reports it). */
  requests: number;
}

/** A cursor that does not belong to this query (another filter, or not a cursor at all). */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

/** What a record's page view needs: everything but the payload (up to 256 KB) and internals. */
const VIEW_PROJECTION = {
  ProjectionExpression:
    'pk, jobId, #type, #status, generation, attempts, #owner, #result, #error, createdAt, updatedAt, startedAt, finishedAt, runAt, cancelRequested, idempotencyKey, #history, expiresAt',
  ExpressionAttributeNames: { '#type': 'type', '#status': 'status', '#owner': 'owner', '#result': 'result', '#error': 'error', '#history': 'history' },
};

interface Stream {
  partition: string;
  /** The last entry read of it: [sort key, job id]; undefined before the first. 'done' once exhausted. */
  after?: [string, string] | 'done';
}

interface Entry {
  stream: number;
  sort: string;
  jobId: string;
}

export async function listJobs(client: DynamoDBClient, tableName: string, query: ListQuery, now: number): Promise<ListPage> {
  const streams = streamsOf(query);
  const filter = filterOf(query);
  if (query.cursor !== undefined) restore(streams, query.cursor, filter);
  const low = listSortOf(query.owner, query.createdAfter ?? '');
  const high = query.createdBefore !== undefined ? listSortOf(query.owner, query.createdBefore) : `${query.owner}$`; // '$' sorts right after '#'
  let requests = 0;

  const fetched = await Promise.all(
    streams.map(async (stream, index) => {
      if (stream.after === 'done') return { entries: [] as Entry[], more: false };
      requests++;
      const { Items, LastEvaluatedKey } = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: LIST_INDEX,
          KeyConditionExpression: '#p = :p AND #s BETWEEN :low AND :high',
          ExpressionAttributeNames: { '#p': LIST_KEYS.partition, '#s': LIST_KEYS.sort },
          ExpressionAttributeValues: { ':p': { S: stream.partition }, ':low': { S: low }, ':high': { S: high } },
          ScanIndexForward: false,
          Limit: query.limit,
          ...(stream.after ? { ExclusiveStartKey: startKey(stream.partition, stream.after) } : {}),
        }),
      );
      const entries = (Items ?? []).map((item) => ({ stream: index, sort: item[LIST_KEYS.sort]!.S!, jobId: item.pk!.S!.slice('JOB#'.length) }));
      return { entries, more: LastEvaluatedKey !== undefined };
    }),
  );

  // Newest first across every stream; the page is the first `limit` of them.
  const merged = fetched.flatMap((f) => f.entries).sort((a, b) => (a.sort === b.sort ? b.jobId.localeCompare(a.jobId) : a.sort < b.sort ? 1 : -1));
  const page = merged.slice(0, query.limit);
  for (const [index, stream] of streams.entries()) {
    if (stream.after === 'done') continue;
    const taken = page.filter((e) => e.stream === index);
    const last = taken.at(-1);
    if (last) stream.after = [last.sort, last.jobId];
    if (taken.length === fetched[index]!.entries.length && !fetched[index]!.more) stream.after = 'done';
  }

  const records = await readPage(
    client,
    tableName,
    page.map((e) => e.jobId),
  );
  requests += records.requests;
  const jobs = page
    .map((e) => records.get(e.jobId))
    .filter(
      (job): job is JobRecord => job !== undefined && job.owner === query.owner && !isExpired(job, now) && query.states.includes(job.status) && query.types.includes(job.type),
    );
  const exhausted = streams.every((s) => s.after === 'done');
  return { jobs, requests, ...(exhausted ? {} : { cursor: save(streams, filter) }) };
}

function streamsOf(query: ListQuery): Stream[] {
  const streams: Stream[] = [];
  for (const type of query.types) for (const state of query.states) for (let shard = 0; shard < LIST_SHARDS; shard++) streams.push({ partition: `${type}#${state}#${shard}` });
  return streams;
}

/** The query a cursor belongs to: a cursor is refused with any other. */
function filterOf(query: ListQuery): string {
  return JSON.stringify([query.owner, query.types, query.states, query.createdAfter ?? null, query.createdBefore ?? null]);
}

function startKey(partition: string, [sort, jobId]: [string, string]): Record<string, AttributeValue> {
  return { [LIST_KEYS.partition]: { S: partition }, [LIST_KEYS.sort]: { S: sort }, ...jobKey(jobId) };
}

function save(streams: Stream[], filter: string): string {
  return Buffer.from(JSON.stringify({ f: filter, s: streams.map((s) => s.after ?? null) })).toString('base64url');
}

function restore(streams: Stream[], cursor: string, filter: string): void {
  let saved: { f?: unknown; s?: unknown };
  try {
    saved = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof saved;
  } catch {
    throw new InvalidCursorError('the cursor is not one this API gave');
  }
  if (saved.f !== filter || !Array.isArray(saved.s) || saved.s.length !== streams.length)
    throw new InvalidCursorError('the cursor belongs to another query: pass the same filters as the page it came from');
  saved.s.forEach((after: unknown, i) => {
    if (after === 'done') streams[i]!.after = 'done';
    else if (Array.isArray(after) && after.length === 2 && after.every((x) => typeof x === 'string')) streams[i]!.after = after as [string, string];
    else if (after !== null) throw new InvalidCursorError('the cursor is not one this API gave');
  });
}

async function readPage(client: DynamoDBClient, tableName: string, jobIds: string[]): Promise<Map<string, JobRecord> & { requests: number }> {
  const found = Object.assign(new Map<string, JobRecord>(), { requests: 0 });
  let keys: Item[] = jobIds.map(jobKey);
  // Unprocessed keys (throttling) are read again at once: a page is small, and a short list is answered.
  for (let round = 0; keys.length > 0 && round < 5; round++) {
    found.requests++;
    const response = await client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ...VIEW_PROJECTION } } }));
    for (const item of response.Responses?.[tableName] ?? []) {
      const job = fromItem(item);
      found.set(job.jobId, job);
    }
    keys = response.UnprocessedKeys?.[tableName]?.Keys ?? [];
  }
  return found;
}
