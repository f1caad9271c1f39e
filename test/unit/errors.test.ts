// reasonOf writes the reasons that end up in logs, job records and DLQ attributes: one line, bounded.
import { describe, expect, it } from 'vitest';
import { isPermanent, PermanentError, reasonOf, TransientError } from '../../shared/errors';

describe('reasonOf', () => {
  it('names the error type and its message', () => {
    expect(reasonOf(new PermanentError('bad input'))).toBe('PermanentError: bad input');
    expect(reasonOf(new TransientError('try later'))).toBe('TransientError: try later');
    expect(reasonOf(new TypeError('x is not a function'))).toBe('TypeError: x is not a function');
  });

  it('makes one line of a multi-line message, collapsing runs of whitespace', () => {
    expect(reasonOf(new Error('first line\n  second\tline\r\n\nthird  '))).toBe('Error: first line second line third');
  });

  it('takes anything thrown, not only errors', () => {
    expect(reasonOf('plain string\nthrown')).toBe('plain string thrown');
    expect(reasonOf(42)).toBe('42');
    expect(reasonOf(undefined)).toBe('undefined');
  });

  it('keeps a reason of 500 characters whole', () => {
    const message = 'x'.repeat(500 - 'Error: '.length);
    expect(reasonOf(new Error(message))).toBe(`Error: ${message}`);
  });

  it('cuts a longer reason to 500 characters, ending in ...', () => {
    const reason = reasonOf(new Error('y'.repeat(10_000)));
    expect(reason).toHaveLength(500);
    expect(reason.endsWith('y...')).toBe(true);
    expect(reason.startsWith('Error: yyy')).toBe(true);
  });
});

describe('TransientError and PermanentError', () => {
  it('carry a retry-after hint and a cause', () => {
    const cause = new Error('socket hang up');
    const error = new TransientError('call failed', { retryAfterSeconds: 30, cause });
    expect(error.retryAfterSeconds).toBe(30);
    expect(error.cause).toBe(cause);
    expect(new TransientError('no hint').retryAfterSeconds).toBeUndefined();
  });

  it('isPermanent tells them apart', () => {
    expect(isPermanent(new PermanentError('x'))).toBe(true);
    expect(isPermanent(new TransientError('x'))).toBe(false);
    expect(isPermanent(new Error('x'))).toBe(false);
  });
});
