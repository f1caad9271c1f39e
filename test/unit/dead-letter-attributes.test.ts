import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../../shared/jobs/message';
import { deadLetterAttributes } from '../../shared/worker/queue-actions';

const record = (body: string) => ({ messageId: 'm-1', body, attributes: { ApproximateReceiveCount: '3' } }) as unknown as SQSRecord;
const size = (a: ReturnType<typeof deadLetterAttributes>) => Object.entries(a).reduce((n, [k, v]) => n + k.length + v.DataType.length + Buffer.byteLength(v.StringValue), 0);

describe('deadLetterAttributes', () => {
  it('carries the reason, the source message id, the job id and the receive count', () => {
    expect(deadLetterAttributes({ record: record('x'), reason: 'bad payload', jobId: 'job-1' })).toEqual({
      'jobline-reason': { DataType: 'String', StringValue: 'bad payload' },
      'jobline-source-message-id': { DataType: 'String', StringValue: 'm-1' },
      'jobline-job-id': { DataType: 'String', StringValue: 'job-1' },
      'jobline-receive-count': { DataType: 'Number', StringValue: '3' },
    });
  });

  it('keeps a message at the size limit within it: a shortened reason first, the rest dropped', () => {
    const body = 'x'.repeat(MAX_MESSAGE_BYTES - 50);
    const attributes = deadLetterAttributes({ record: record(body), reason: 'malformed message: body is not JSON', jobId: 'job-1' });
    expect(Object.keys(attributes)).toEqual(['jobline-reason']);
    expect('malformed message: body is not JSON'.startsWith(attributes['jobline-reason']!.StringValue)).toBe(true);
    expect(body.length + size(attributes)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });

  it('carries no attribute when not even a shortened reason fits', () => {
    expect(deadLetterAttributes({ record: record('x'.repeat(MAX_MESSAGE_BYTES - 10)), reason: 'r'.repeat(100) })).toEqual({});
  });
});
