// Completion notifications: the callback signature, the stream filter (the event source mapping's
// FilterCriteria, evaluated with the local runtime's pattern matcher) against the notifier's own predicate,
// and the Callback-Url rule.
import { describe, expect, it } from 'vitest';
import { matchesPatterns, parseFilterCriteria } from '../../local/lambda/sqs-event';
import { callbackUrlProblem, MAX_CALLBACK_URL_LENGTH } from '../../shared/notify/callback-url';
import { detailTypeOf, isTerminalTransition, NOTIFY_FILTERS, TERMINAL } from '../../shared/notify/notification';
import { notificationOf } from '../../shared/notify/notifier';
import { signatureHeader, signPayload, verifySignature } from '../../shared/notify/signature';
import { JOB_STATUSES } from '../../shared/store/job-states';
import { PUBLIC_ONLY } from '../../shared/net/address-guard';

describe('Jobline-Signature', () => {
  const body = '{"jobId":"j1","status":"SUCCEEDED"}';
  it('is t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    expect(signatureHeader('s3cret', body, 1_700_000_000)).toBe(`t=1700000000,v1=${signPayload('s3cret', 1_700_000_000, body)}`);
    // A known value, so that a receiver in another language can check its implementation against it.
    expect(signPayload('s3cret', 1_700_000_000, body)).toMatch(/^[0-9a-f]{64}$/);
  });
  it('verifies the body it signed, with the secret, within the tolerance, and nothing else', () => {
    const header = signatureHeader('s3cret', body, 1_700_000_000);
    expect(verifySignature('s3cret', header, body, { nowSeconds: 1_700_000_100 })).toBe(true);
    expect(verifySignature('other', header, body, { nowSeconds: 1_700_000_100 })).toBe(false);
    expect(verifySignature('s3cret', header, `${body} `, { nowSeconds: 1_700_000_100 })).toBe(false);
    expect(verifySignature('s3cret', header, body, { nowSeconds: 1_700_000_000 + 301 })).toBe(false);
    expect(verifySignature('s3cret', header.replace('t=1700000000', 't=1700000001'), body, { nowSeconds: 1_700_000_001 })).toBe(false);
    expect(verifySignature('s3cret', undefined, body)).toBe(false);
    expect(verifySignature('s3cret', 'v1=abc', body)).toBe(false);
    expect(verifySignature('s3cret', `t=1700000000,v1=${'0'.repeat(64)},v1=${signPayload('s3cret', 1_700_000_000, body)}`, body, { nowSeconds: 1_700_000_000 })).toBe(true);
  });
});

/** A stream record as Lambda shows it, for a change of a job record from `from` (undefined: an insert) to `to`. */
function streamRecord(from: string | undefined, to: string | undefined, pk = 'JOB#j1') {
  const image = (status: string) => ({ pk: { S: pk }, jobId: { S: 'j1' }, type: { S: 'webhook' }, status: { S: status }, generation: { N: '1' } });
  return {
    eventName: from === undefined ? 'INSERT' : to === undefined ? 'REMOVE' : 'MODIFY',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: { pk: { S: pk } },
      ...(to !== undefined ? { NewImage: image(to) } : {}),
      ...(from !== undefined ? { OldImage: image(from) } : {}),
      SequenceNumber: '1',
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

describe('the notifier stream filter', () => {
  const filters = parseFilterCriteria({ Filters: NOTIFY_FILTERS.map((p) => ({ Pattern: JSON.stringify(p) })) }, 'notifier');
  const states = [undefined, ...JOB_STATUSES, 'CANCELLED', 'SCHEDULED'];

  it('passes exactly the changes into a terminal state from a state that was not terminal (every pair of states)', () => {
    for (const from of states) {
      for (const to of states) {
        const record = streamRecord(from, to);
        const expected = to !== undefined && TERMINAL.includes(to) && (from === undefined || !TERMINAL.includes(from));
        expect(matchesPatterns(record, filters), `${from ?? '(none)'} → ${to ?? '(removed)'}`).toBe(expected);
        expect(isTerminalTransition(from, to), `${from ?? '(none)'} → ${to ?? '(removed)'}`).toBe(expected);
        expect(notificationOf(record as never, 'bus') !== undefined, `notifier: ${from ?? '(none)'} → ${to ?? '(removed)'}`).toBe(expected);
      }
    }
  });

  it("passes no item that is not a job record (the job types' own items, the sweeper's cursors)", () => {
    expect(matchesPatterns(streamRecord('PENDING', 'SUCCEEDED', 'ACCOUNT#alice'), filters)).toBe(false);
    expect(notificationOf(streamRecord('PENDING', 'SUCCEEDED', 'SWEEP#1') as never, 'bus')).toBeUndefined();
  });

  it('names each terminal state\'s detail-type "Job <State>"', () => {
    expect(['SUCCEEDED', 'FAILED', 'CANCELLED'].map(detailTypeOf)).toEqual(['Job Succeeded', 'Job Failed', 'Job Cancelled']);
  });

  it("makes the event's detail the job's view, and a callback message only for a job with a callback URL", () => {
    const record = streamRecord('RUNNING', 'SUCCEEDED');
    const plain = notificationOf(record as never, 'jobline-bus')!;
    expect(plain.entry).toMatchObject({ Source: 'jobline', DetailType: 'Job Succeeded', EventBusName: 'jobline-bus' });
    expect(JSON.parse(plain.entry.Detail)).toMatchObject({ jobId: 'j1', status: 'SUCCEEDED', generation: 1 });
    expect(plain.callback).toBeUndefined();
    (record.dynamodb.NewImage as Record<string, unknown>).callbackUrl = { S: 'https://example.com/cb' };
    expect(JSON.parse(notificationOf(record as never, 'b')!.callback!)).toMatchObject({ v: 1, jobId: 'j1', generation: 1, url: 'https://example.com/cb', event: 'Job Succeeded' });
  });
});

describe('Callback-Url', () => {
  const loopback = new Set(['loopback'] as const);
  it('takes an absolute https URL of at most 2048 characters', () => {
    expect(callbackUrlProblem('https://hooks.example.com/jobline?x=1', PUBLIC_ONLY)).toBeUndefined();
    expect(callbackUrlProblem(`https://example.com/${'a'.repeat(MAX_CALLBACK_URL_LENGTH - 20)}`, PUBLIC_ONLY)).toBeUndefined();
    expect(callbackUrlProblem(`https://example.com/${'a'.repeat(MAX_CALLBACK_URL_LENGTH)}`, PUBLIC_ONLY)).toMatch(/limit is 2048/);
    expect(callbackUrlProblem('/relative', PUBLIC_ONLY)).toMatch(/absolute https URL/);
    expect(callbackUrlProblem('ftp://example.com/', PUBLIC_ONLY)).toMatch(/absolute https URL/);
    expect(callbackUrlProblem('https://user:pw@example.com/', PUBLIC_ONLY)).toMatch(/credentials/);
  });
  it('takes http only to a loopback receiver, where loopback is allowed (the local runtime)', () => {
    expect(callbackUrlProblem('http://example.com/', PUBLIC_ONLY)).toMatch(/must use https/);
    expect(callbackUrlProblem('http://127.0.0.1:8080/cb', PUBLIC_ONLY)).toMatch(/must use https/);
    expect(callbackUrlProblem('http://127.0.0.1:8080/cb', loopback)).toBeUndefined();
    expect(callbackUrlProblem('http://localhost:8080/cb', loopback)).toBeUndefined();
    expect(callbackUrlProblem('http://example.com/', loopback)).toMatch(/must use https/);
  });
  it('refuses a literal address the guard refuses (metadata service, private network)', () => {
    expect(callbackUrlProblem('https://169.254.169.254/latest', PUBLIC_ONLY)).toMatch(/link-local/);
    expect(callbackUrlProblem('https://10.0.0.1/', loopback)).toMatch(/private/);
  });
});
