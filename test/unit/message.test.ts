// The job message on SQS. Anything that is not a well-formed job message is poison: a PermanentError that
// sends it to the DLQ at once, with a reason an operator can act on.
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../shared/errors';
import { decodeMessage, encodeMessage, jobIdOf, MAX_MESSAGE_BYTES, MAX_SUBMIT_MESSAGE_BYTES } from '../../shared/jobs/message';

const JOB_ID = '0b6f3a9e-1c2d-4e5f-8a7b-9c0d1e2f3a4b';

function decodeError(body: string): PermanentError {
  try {
    decodeMessage(body);
  } catch (error) {
    expect(error).toBeInstanceOf(PermanentError);
    return error as PermanentError;
  }
  throw new Error(`decodeMessage accepted ${body}`);
}

describe('decodeMessage', () => {
  it('reads back what encodeMessage wrote', () => {
    const payload = { from: 'a', to: 'b', amount: 5, nested: [1, { x: null }] };
    expect(decodeMessage(encodeMessage(JOB_ID, 'transfer', payload))).toEqual({ v: 1, jobId: JOB_ID, type: 'transfer', gen: 1, payload });
    expect(decodeMessage(encodeMessage(JOB_ID, 'transfer', payload, 3)).gen).toBe(3);
  });

  it('keeps a null payload (present, but null)', () => {
    expect(decodeMessage(JSON.stringify({ v: 1, jobId: JOB_ID, type: 't', payload: null })).payload).toBeNull();
  });

  it('drops fields it does not know', () => {
    expect(decodeMessage(JSON.stringify({ v: 1, jobId: JOB_ID, type: 't', payload: 1, extra: 'x' }))).toEqual({ v: 1, jobId: JOB_ID, type: 't', gen: 1, payload: 1 });
  });

  it.each([
    ['a body that is not JSON', 'not json', 'malformed message: body is not JSON'],
    ['an empty body', '', 'malformed message: body is not JSON'],
    ['JSON null', 'null', 'malformed message: body is not a JSON object'],
    ['a JSON array', '[1,2]', 'malformed message: body is not a JSON object'],
    ['a JSON string', '"hello"', 'malformed message: body is not a JSON object'],
    ['a JSON number', '42', 'malformed message: body is not a JSON object'],
    ['a missing version', JSON.stringify({ jobId: JOB_ID, type: 't', payload: {} }), 'malformed message: unsupported version undefined'],
    ['another version', JSON.stringify({ v: 2, jobId: JOB_ID, type: 't', payload: {} }), 'malformed message: unsupported version 2'],
    ['a version given as a string', JSON.stringify({ v: '1', jobId: JOB_ID, type: 't', payload: {} }), 'malformed message: unsupported version "1"'],
    ['a missing jobId', JSON.stringify({ v: 1, type: 't', payload: {} }), 'malformed message: jobId is missing or not a job id'],
    ['a jobId that is not a job id', JSON.stringify({ v: 1, jobId: 'job-1', type: 't', payload: {} }), 'malformed message: jobId is missing or not a job id'],
    ['a missing type', JSON.stringify({ v: 1, jobId: JOB_ID, payload: {} }), 'malformed message: type is missing'],
    ['a type that is not a string', JSON.stringify({ v: 1, jobId: JOB_ID, type: 7, payload: {} }), 'malformed message: type is missing'],
    ['a missing payload', JSON.stringify({ v: 1, jobId: JOB_ID, type: 't' }), 'malformed message: payload is missing'],
  ])('refuses %s with a clear reason', (_, body, reason) => {
    expect(decodeError(body).message).toBe(reason);
  });
});

describe('jobIdOf', () => {
  it('finds the job id of a well-formed message', () => {
    expect(jobIdOf(encodeMessage(JOB_ID, 't', {}))).toBe(JOB_ID);
  });

  it('finds the job id of an otherwise malformed message, so its job can still be failed', () => {
    expect(jobIdOf(JSON.stringify({ v: 99, jobId: JOB_ID }))).toBe(JOB_ID);
  });

  it.each([
    ['a body that is not JSON', 'not json'],
    ['JSON null', 'null'],
    ['a JSON number', '5'],
    ['a body without jobId', '{"v":1}'],
    ['a jobId that is not a job id', '{"jobId":"x"}'],
  ])('gives undefined for %s, without throwing', (_, body) => {
    expect(jobIdOf(body)).toBeUndefined();
  });
});

describe('message size limits', () => {
  it('keeps headroom below SQS 1 MiB for the DLQ copy and its reason', () => {
    expect(MAX_MESSAGE_BYTES).toBe(1_048_576);
    expect(MAX_SUBMIT_MESSAGE_BYTES).toBeLessThan(MAX_MESSAGE_BYTES);
  });
});
