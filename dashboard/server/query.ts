/**
 * What the dashboard's browser side may ask of its server, checked before anything reaches the API or SQS:
 * the job browser's filters (query strings), a search, a bulk action's filter (a JSON body), a DLQ peek's
 * limit. Each parser returns the value or one message that says what is wrong; the server answers 400 with
 * it. Job types are checked against the target's, so a typo is "no job type" rather than an empty page.
 */
import * as z from 'zod/mini';
import '../../shared/jobs/zod'; // zod's English messages
import { isJobId } from '../../shared/jobs/job-id';
import { isIdempotencyKey } from '../../shared/submission/submit-job';
import { STATES } from '../../cli/states';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** A page of the job browser: at most this many jobs (the API's own cap is 100). */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PEEK = 100;
export const DEFAULT_PEEK = 20;

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)$/i;
const isoTime = z.string().check(z.refine((v) => ISO_TIME.test(v) && !Number.isNaN(Date.parse(v)), 'not an ISO 8601 time with its zone (e.g. 2026-12-03T10:00:00Z)'));
const state = z.enum(STATES);

/** A whole number from `min` to `max` written in a query string, or undefined. */
function wholeNumber(text: string, min: number, max: number): number | undefined {
  const n = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  return n >= min && n <= max ? n : undefined;
}

function messageOf(error: z.core.$ZodError): string {
  return error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
}

function parseWith<T>(schema: z.ZodMiniType<T>, input: unknown): Parsed<T> {
  const parsed = schema.safeParse(input);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: messageOf(parsed.error) };
}

function knownType(type: string | undefined, jobTypes: readonly string[]): string | undefined {
  return type === undefined || jobTypes.includes(type) ? undefined : `there is no job type "${type}" (job types: ${jobTypes.join(', ') || 'none'})`;
}

function ordered(after: string | undefined, before: string | undefined): string | undefined {
  return after !== undefined && before !== undefined && Date.parse(after) > Date.parse(before) ? 'createdAfter is later than createdBefore: no job can match' : undefined;
}

const filterShape = {
  type: z.optional(z.string()),
  state: z.optional(state),
  createdAfter: z.optional(isoTime),
  createdBefore: z.optional(isoTime),
};

export interface JobFilter {
  type?: string;
  state?: (typeof STATES)[number];
  createdAfter?: string;
  createdBefore?: string;
}

export interface ListRequest extends JobFilter {
  limit: number;
  cursor?: string;
}

const listQuery = z.strictObject({
  ...filterShape,
  limit: z.optional(z.string()),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(8192))),
});

/** The job browser's query string: ?type=&state=&createdAfter=&createdBefore=&limit=&cursor= (each optional). */
export function parseListQuery(params: URLSearchParams, jobTypes: readonly string[]): Parsed<ListRequest> {
  const parsed = parseWith(listQuery, Object.fromEntries([...params].filter(([, v]) => v !== '')));
  if (!parsed.ok) return parsed;
  const { limit: limitText, ...rest } = parsed.value;
  const limit = limitText === undefined ? DEFAULT_PAGE_SIZE : wholeNumber(limitText, 1, MAX_PAGE_SIZE);
  if (limit === undefined) return { ok: false, message: `limit is a whole number from 1 to ${MAX_PAGE_SIZE}` };
  const wrong = knownType(rest.type, jobTypes) ?? ordered(rest.createdAfter, rest.createdBefore);
  if (wrong) return { ok: false, message: wrong };
  return { ok: true, value: { ...stripUndefined(rest), limit } };
}

export type SearchRequest = { kind: 'jobId'; jobId: string } | { kind: 'key'; key: string; types: string[] };

/**
 * A search box's text: a job id finds that job; anything else is an Idempotency-Key, looked up in the
 * given type or, without one, in every type (a key names one job per type).
 */
export function parseSearch(params: URLSearchParams, jobTypes: readonly string[]): Parsed<SearchRequest> {
  const q = (params.get('q') ?? '').trim();
  const type = params.get('type') || undefined;
  if (q === '') return { ok: false, message: 'q is empty: give a job id or an Idempotency-Key' };
  const wrong = knownType(type, jobTypes);
  if (wrong) return { ok: false, message: wrong };
  if (isJobId(q.toLowerCase())) return { ok: true, value: { kind: 'jobId', jobId: q.toLowerCase() } };
  if (!isIdempotencyKey(q)) return { ok: false, message: 'q is neither a job id nor an Idempotency-Key (1-255 printable ASCII characters without commas)' };
  return { ok: true, value: { kind: 'key', key: q, types: type ? [type] : [...jobTypes] } };
}

export type BulkAction = 'cancel' | 'retry';
/** The states each bulk action applies to (shared/submission/lifecycle.ts bulkChange). */
export const BULK_STATES: Record<BulkAction, readonly string[]> = { cancel: ['SCHEDULED', 'PENDING', 'RUNNING'], retry: ['FAILED', 'CANCELLED'] };

/** A bulk action's body: the job browser's filter, {type?, state?, createdAfter?, createdBefore?}. */
export function parseBulkFilter(body: unknown, action: BulkAction, jobTypes: readonly string[]): Parsed<JobFilter> {
  const parsed = parseWith(z.strictObject(filterShape), body ?? {});
  if (!parsed.ok) return parsed;
  const filter = parsed.value;
  const wrong =
    knownType(filter.type, jobTypes) ??
    ordered(filter.createdAfter, filter.createdBefore) ??
    (filter.state !== undefined && !BULK_STATES[action].includes(filter.state) ? `${action} applies to ${BULK_STATES[action].join(', ')} jobs, not ${filter.state}` : undefined);
  if (wrong) return { ok: false, message: wrong };
  return { ok: true, value: stripUndefined(filter) };
}

/** ?limit= of a DLQ peek. */
export function parsePeekLimit(params: URLSearchParams): Parsed<number> {
  const text = params.get('limit');
  if (text === null || text === '') return { ok: true, value: DEFAULT_PEEK };
  const n = wholeNumber(text, 1, MAX_PEEK);
  return n !== undefined ? { ok: true, value: n } : { ok: false, message: `limit is a whole number from 1 to ${MAX_PEEK}` };
}

/** Without the fields not given, and the times in the UTC form the list index holds. */
function stripUndefined<T extends JobFilter>(value: T): T {
  const out = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
  if (out.createdAfter !== undefined) out.createdAfter = new Date(out.createdAfter).toISOString();
  if (out.createdBefore !== undefined) out.createdBefore = new Date(out.createdBefore).toISOString();
  return out;
}
