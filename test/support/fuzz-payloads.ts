/**
 * Payload text for the fuzz suites, built from raw JSON tokens so that any value (1e400, -0, NaN...) can be
 * written: valid payloads of each job type, and values that each field's schema must refuse. The lists of
 * bad values are written by hand from the job types' documented rules, not derived from their schemas.
 */
import { MAX_CALL_SECONDS } from '../../app/jobs/webhook/type';
import type { Prng } from './prng';

export type TypeName = 'transfer' | 'webhook';
export const TYPES: readonly TypeName[] = ['transfer', 'webhook'];

export type Entries = [string, string][];
export const q = (s: string) => JSON.stringify(s);

export function objectText(entries: Entries, r: Prng): string {
  if (r.chance(0.2)) return `{\n  ${entries.map(([k, v]) => `${q(k)}: ${v}`).join(',\n  ')}\n}`;
  return `{${entries.map(([k, v]) => `${q(k)}:${v}`).join(',')}}`;
}

export const ACCOUNT_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-';
export const account = (r: Prng) => r.stringOf(ACCOUNT_CHARS, r.int(1, 16));

export function jsonValue(r: Prng, depth: number): string {
  switch (r.int(0, depth > 0 ? 6 : 4)) {
    case 0:
      return 'null';
    case 1:
      return r.pick(['true', 'false']);
    case 2:
      return r.chance(0.5) ? String(r.int(-1_000_000, 1_000_000)) : (r.next() * 1000).toFixed(r.int(1, 6));
    case 3:
      return q(r.sqsText(r.int(0, 40)));
    case 4:
      return '""';
    case 5:
      return `[${Array.from({ length: r.int(0, 4) }, () => jsonValue(r, depth - 1)).join(',')}]`;
    default:
      return `{${Array.from({ length: r.int(0, 4) }, (_, i) => `${q(`k${i}${r.stringOf('abcxyz', 3)}`)}:${jsonValue(r, depth - 1)}`).join(',')}}`;
  }
}

export function transferEntries(r: Prng): Entries {
  const from = account(r);
  let to = account(r);
  if (to === from) to += 'x';
  const entries: Entries = [
    ['from', q(from)],
    ['to', q(to)],
    ['amount', String(r.int(1, 1_000_000))],
  ];
  if (r.chance(0.4)) entries.push(['memo', q(r.sqsText(r.int(0, 60)))]);
  return r.shuffle(entries);
}

export function webhookEntries(r: Prng, baseUrl = 'http://127.0.0.1:9'): Entries {
  const entries: Entries = [
    ['url', q(`${baseUrl}/hooks/${r.int(0, 1_000_000)}?n=${r.int(0, 99)}`)],
    ['body', jsonValue(r, 3)],
  ];
  if (r.chance(0.3)) entries.push(['headers', JSON.stringify({ 'x-trace': r.stringOf('abcdef0123456789', 8), ...(r.chance(0.5) ? { 'X-Tenant-Id': 't-1' } : {}) })]);
  if (r.chance(0.3)) entries.push(['timeoutSeconds', String(r.int(1, MAX_CALL_SECONDS))]);
  return r.shuffle(entries);
}

export const validEntries = (type: TypeName, r: Prng, webhookBaseUrl?: string) => (type === 'transfer' ? transferEntries(r) : webhookEntries(r, webhookBaseUrl));

export function setEntry(entries: Entries, key: string, value: string): Entries {
  return entries.some(([k]) => k === key) ? entries.map(([k, v]) => [k, k === key ? value : v]) : [...entries, [key, value]];
}

export const REQUIRED: Record<TypeName, string[]> = { transfer: ['from', 'to', 'amount'], webhook: ['url', 'body'] };

export const ACCOUNT_BAD = [
  'null',
  'true',
  'false',
  '0',
  '1',
  '-1',
  '1.5',
  '1e400',
  '[]',
  '["a"]',
  '{}',
  '{"id":"a"}',
  '""',
  '"a b"',
  '"a/b"',
  '"caf\\u00e9"',
  q('a'.repeat(65)),
  '" a"',
  '"a\\n"',
  '"\\u0000"',
  '"ACCOUNT#x"',
  '"a:b"',
];
export const AMOUNT_BAD = [
  'null',
  'true',
  'false',
  '"100"',
  '""',
  '"NaN"',
  '"Infinity"',
  '"-Infinity"',
  '"1e400"',
  '0',
  '-0',
  '-1',
  '1.5',
  '0.1',
  '1e400',
  '-1e400',
  '1e-400',
  '1000000000001',
  '9007199254740993',
  '1e13',
  '[]',
  '[1]',
  '{}',
  '{"value":1}',
];
export const WRONG_VALUES: Record<TypeName, Record<string, string[]>> = {
  transfer: {
    from: ACCOUNT_BAD,
    to: ACCOUNT_BAD,
    amount: AMOUNT_BAD,
    memo: ['null', '1', 'true', '[]', '["m"]', '{}', '1e400', q('m'.repeat(201))],
  },
  webhook: {
    url: [
      'null',
      '1',
      'true',
      '[]',
      '{}',
      '""',
      '"ftp://x.test/y"',
      '"/relative/path"',
      '"127.0.0.1/x"',
      '"http//x"',
      '"javascript:alert(1)"',
      '"file:///etc/passwd"',
      '"http://"',
      '"ws://x.test/"',
      '"mailto:a@b.test"',
      '"data:text/plain,x"',
      '"http://exa mple.test/"',
      q(`http://a.test/${'p'.repeat(2048)}`),
    ],
    body: ['1e400', '-1e400', '[1e400]', '{"n":-1e400}'],
    headers: [
      'null',
      '1',
      '"x-a: b"',
      'true',
      '[]',
      '["v"]',
      '{"x-a":1}',
      '{"x-a":null}',
      '{"x-a":["v"]}',
      '{"x-a":{}}',
      '{"bad name":"v"}',
      '{"x_a":"v"}',
      '{"":"v"}',
      '{"Content-Type":"text/plain"}',
      '{"host":"evil.test"}',
      '{"IDEMPOTENCY-KEY":"k"}',
      '{"connection":"close"}',
      '{"transfer-encoding":"chunked"}',
      '{"content-length":"1"}',
      `{"x-a":${q('v'.repeat(1025))}}`,
      `{${q('h'.repeat(65))}:"v"}`,
      '{"caf\\u00e9":"v"}',
      '{"x-a":"v","x:b":"v"}',
    ],
    timeoutSeconds: ['null', '"10"', '0', '-1', String(MAX_CALL_SECONDS + 1), '1.5', '1e400', 'true', '[]', '{}', '"ten"'],
  },
};
export const NUMBERISH: Record<TypeName, Record<string, string[]>> = {
  transfer: { amount: ['1e400', '-1e400', '1e-400', '"NaN"', '"Infinity"', '"1e400"', 'NaN', 'Infinity', '-Infinity', '0x10', '1e', '.5', '+1', '01', '1.', '1_000', '--1'] },
  webhook: { timeoutSeconds: ['1e400', '"NaN"', '"Infinity"', 'NaN', 'Infinity', '0x10', '.5', '+1', '01'], body: ['1e400', '-1e400', 'NaN', 'Infinity', '-Infinity', '[NaN]'] },
};
export const EXTRA_KEYS = [
  'extra',
  'FROM',
  'Amount',
  'amount ',
  ' from',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'jobId',
  'type',
  'v',
  'payload',
  '',
  'from\u0000',
  'url\u200b',
  'idempotencyKey',
  'status',
  'x'.repeat(300),
];
export const OWN_FIELDS: Record<TypeName, string[]> = { transfer: ['from', 'to', 'amount', 'memo'], webhook: ['url', 'body', 'headers', 'timeoutSeconds'] };
export const OTHER_FIELDS: Record<TypeName, string[]> = { transfer: OWN_FIELDS.webhook, webhook: OWN_FIELDS.transfer };

/** A value nested `depth` levels deep: arrays or objects. */
export function deep(r: Prng, depth: number): string {
  return r.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + 'null' + '}'.repeat(depth);
}
