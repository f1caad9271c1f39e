/**
 * What the job detail shows beside the API's job view: the payload, which the view leaves out (it can be up
 * to SQS's 1 MiB), read from the job's record (DynamoDB GetItem on the target's table, the payload only), and
 * the result; both cut to a size a page can show. The API's GET /jobs/{id} is asked first, so the record is
 * read only for a job the caller may see.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { jobKey } from '../../shared/store/job-record';
import type { Target } from '../../cli/target';

/** The most of a payload or result the detail shows, in bytes of UTF-8. */
export const CONTENT_CAP_BYTES = 32 * 1024;

export interface CappedText {
  /** Pretty-printed JSON where the value is JSON, cut at `cap` bytes. */
  text: string;
  /** The size of the whole value as stored (bytes of its compact JSON). */
  bytes: number;
  truncated: boolean;
}

/** JSON text pretty-printed (when it parses) and cut to at most `cap` bytes at a character boundary. */
export function capText(json: string, cap: number = CONTENT_CAP_BYTES): CappedText {
  const bytes = Buffer.byteLength(json, 'utf8');
  let text = json;
  try {
    text = JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    // Not JSON (it always is for a jobline record): shown as it is.
  }
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length <= cap) return { text, bytes, truncated: false };
  // A cut inside a multi-byte character decodes to U+FFFD at the end: drop it.
  const cut = encoded
    .subarray(0, cap)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  return { text: cut, bytes, truncated: true };
}

/** The job's payload as its record holds it; undefined when the target has no table or the record is gone. */
export async function readPayload(target: Target, jobId: string): Promise<CappedText | undefined> {
  if (!target.tableName) return undefined;
  const dynamodb = await target.dynamodb();
  const { Item } = await dynamodb.send(new GetItemCommand({ TableName: target.tableName, Key: jobKey(jobId), ProjectionExpression: 'payload' }));
  const payload = Item?.payload?.S;
  return payload === undefined ? undefined : capText(payload);
}
