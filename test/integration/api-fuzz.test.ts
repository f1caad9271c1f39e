// Issue 4, "Bad input": thousands of generated requests against the API code (route() with API Gateway 2.0
// events, DynamoDB Local and the SQS emulator behind it). Every bad request must get a 4xx with a JSON
// reason and leave nothing behind: no job record, no message. A sprinkle of valid requests must get 202 and
// be recorded and enqueued, exactly those, so the "nothing left behind" check counts something real.
//
// Replay a run with JOBLINE_FUZZ_SEED=<seed> (the seed is in the suite's name and in every failure).
import { beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { toApiGatewayEvent } from '../../local/lambda/http-event';
import type { ApiResponse } from '../../shared/api/http';
import { ROUTES, route } from '../../shared/api/router';
import type { SubmitDeps } from '../../shared/api/submit';
import { dynamoClient, sqsClient } from '../../shared/aws/clients';
import type { JobType } from '../../shared/jobs/define';
import { isJobId } from '../../shared/jobs/job-id';
import { MAX_MESSAGE_BYTES, MAX_SUBMIT_MESSAGE_BYTES } from '../../shared/jobs/message';
import { transfer } from '../../app/jobs/transfer/handler';
import { webhook } from '../../app/jobs/webhook/handler';
import type { CreatedQueue } from '../../local/provision';
import { apiDeps } from '../support/api';
import {
  EXTRA_KEYS,
  NUMBERISH,
  OTHER_FIELDS,
  OWN_FIELDS,
  REQUIRED,
  TYPES,
  WRONG_VALUES,
  account,
  deep,
  jsonValue,
  objectText,
  q,
  setEntry,
  transferEntries,
  validEntries,
  webhookEntries,
  type TypeName,
} from '../support/fuzz-payloads';
import { Prng, fuzzSeed } from '../support/prng';
import { createJobQueues, createJobsTable, type JobQueues } from '../support/resources';

const SEED = fuzzSeed();
/** Generated requests (the floor is 2,000); 5% of them are valid. Tuned to 5-15 s on 2 cores. */
const REQUESTS = 3000;
const CONCURRENCY = 8;
/** Valid submits with an Idempotency-Key made before the fuzz, so replays and key reuse can target them. */
const KEYED_JOBS = 12;
const VALID_EVERY = 20;
const DEPTH = 10_000;

const JOB_TYPES: Record<TypeName, JobType> = { transfer, webhook };

// ---------------------------------------------------------------------------------------------------------
// Requests

interface Request {
  method?: string;
  /** Raw body bytes, or text (sent as UTF-8). Undefined sends no body. */
  body?: Buffer | string;
  headers?: Record<string, string | string[]>;
  /** The content-type header; null sends none. */
  contentType?: string | string[] | null;
  routeKey?: string;
  rawPath?: string;
  pathParameters?: Record<string, string> | null;
  /** API Gateway handed the body over base64-encoded (as it does for bodies it treats as binary). */
  base64?: 'encode' | 'flag-only';
}

function submitRequest(type: string, body: Buffer | string | undefined, extra: Omit<Request, 'body'> = {}): Request {
  return { method: 'POST', routeKey: ROUTES.submit, rawPath: `/jobs/${encodeURIComponent(type)}`, pathParameters: { id: type }, body, ...extra };
}

function toEvent(request: Request): APIGatewayProxyEventV2 {
  const headers: Record<string, string | string[]> = { host: 'api.test', ...request.headers };
  const contentType = request.contentType === undefined ? 'application/json' : request.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  const body = request.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
  const routeKey = request.routeKey ?? ROUTES.submit;
  const event = toApiGatewayEvent(
    { method: request.method ?? 'POST', url: request.rawPath ?? '/jobs/transfer', headers, body },
    routeKey,
    request.pathParameters === null ? undefined : request.pathParameters,
  );
  if (request.base64 === 'encode') {
    event.body = body.toString('base64');
    event.isBase64Encoded = true;
  } else if (request.base64 === 'flag-only') {
    // Claims base64 but carries the text as it is: decoding it yields garbage.
    event.isBase64Encoded = true;
  }
  return event;
}

const VALID_CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/problem+json',
  'application/json;',
];
const WRONG_CONTENT_TYPES = [
  'text/plain',
  'text/json',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'application/jsonp',
  'application/x-json',
  'application/json-seq',
  'application/octet-stream',
  'image/png',
  '*/*',
  '',
  'application/',
  'json',
  'application/json, text/plain',
  'application/jsonx',
  'application/ json',
  'application/json\u0000',
  'app/json',
];
const INVALID_UTF8 = [
  [0xff],
  [0xfe],
  [0xc3, 0x28],
  [0xa0, 0xa1],
  [0xe2, 0x28, 0xa1],
  [0xf0, 0x28, 0x8c, 0xbc],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80],
].map((b) => Buffer.from(b));
const WRONG_ROUTE_KEYS = [
  '$default',
  'DELETE /jobs/{id}',
  'PUT /jobs/{type}',
  'PATCH /jobs/{id}',
  'GET /bulk/cancel', // GET /jobs is a route since the lifecycle issue: the list
  'POST /jobs',
  'HEAD /jobs/{id}',
  'OPTIONS /jobs/{type}',
  'GET /jobs/{type}',
  'post /jobs/{type}',
  'POST /jobs/{type} ',
  'POST  /jobs/{type}',
  'POST /jobs/{id}/cancel',
  'GET /jobs/{id}/',
  '',
  'ANY /{proxy+}',
  'POST /jobs/{type}/{id}',
];
const UNKNOWN_TYPES = [
  '',
  'Transfer',
  'TRANSFER',
  'transfer ',
  ' transfer',
  'transfer\u0000',
  'webhooks',
  'webhook/',
  'job',
  'jobs',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '../transfer',
  'transfer%2F',
  'tr\u00e4nsfer',
  'x'.repeat(300),
];

/** Puts bytes that are not UTF-8 inside an account id (fails its pattern whatever the decoder makes of them). */
function withBytesInAccount(type: TypeName, r: Prng, bytes: Buffer): Buffer {
  const marker = '@@BYTES@@';
  const entries = type === 'transfer' ? setEntry(transferEntries(r), 'from', q(`ab${marker}cd`)) : setEntry(webhookEntries(r), 'headers', `{"x-${marker}":"v"}`);
  const [before, after] = objectText(entries, r).split(marker) as [string, string];
  return Buffer.concat([Buffer.from(before), bytes, Buffer.from(after)]);
}

// ---------------------------------------------------------------------------------------------------------
// Cases

interface KeyedJob {
  type: TypeName;
  key: string;
  text: string;
  jobId: string;
}

type Expect = { kind: 'bad'; status?: readonly number[] } | { kind: 'valid'; type: TypeName } | { kind: 'replay'; jobId: string };

interface Case {
  category: string;
  note: string;
  request: Request;
  expect: Expect;
}

const bad = (category: string, note: string, request: Request, status?: readonly number[]): Case => ({ category, note, request, expect: { kind: 'bad', status } });

function keyChars(r: Prng, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    const c = r.int(0x20, 0x7e);
    out += c === 0x2c ? '-' : String.fromCharCode(c);
  }
  return out;
}

function validCase(index: number, r: Prng): Case {
  const type = r.pick(TYPES);
  let text = objectText(validEntries(type, r), r);
  if (r.chance(0.2)) text = `${r.pick([' ', '\n', '\t', '\r\n'])}${text}${r.pick([' ', '\n', ''])}`;
  const headers: Record<string, string> = {};
  if (r.chance(0.4)) headers[r.pick(['idempotency-key', 'Idempotency-Key', 'IDEMPOTENCY-KEY'])] = `fz${index}-${keyChars(r, r.int(0, 200))}`;
  if (r.chance(0.2)) headers['x-padding'] = 'p'.repeat(r.int(1, 8192));
  const contentType = r.chance(0.15) ? null : r.pick(VALID_CONTENT_TYPES);
  const base64 = r.chance(0.15) ? ('encode' as const) : undefined;
  return {
    category: 'valid',
    note: `${type}${base64 ? ' base64' : ''} ct=${contentType}`,
    request: submitRequest(type, text, { headers, contentType, base64 }),
    expect: { kind: 'valid', type },
  };
}

type Generator = (r: Prng, index: number, keyed: readonly KeyedJob[]) => Case;

const GENERATORS: [number, Generator][] = [
  [
    1,
    (r, _i, keyed) => {
      const job = r.pick(keyed);
      return {
        category: 'valid-replay',
        note: `${job.type} key reuse, same payload`,
        request: submitRequest(job.type, job.text, { headers: { 'idempotency-key': job.key } }),
        expect: { kind: 'replay', jobId: job.jobId },
      };
    },
  ],
  [
    1,
    (r, _i, keyed) => {
      const job = r.pick(keyed);
      return bad(
        'key-reuse',
        `${job.type} key reused for another payload`,
        submitRequest(job.type, objectText(validEntries(job.type, r), r), { headers: { 'idempotency-key': job.key } }),
        [422],
      );
    },
  ],
  [
    12,
    (r) => {
      const type = r.pick(TYPES);
      const text = objectText(validEntries(type, r), r);
      const at = r.int(0, text.length - 1);
      return bad('truncated', `${type} cut at ${at}/${text.length}`, submitRequest(type, text.slice(0, at)), [400]);
    },
  ],
  [
    10,
    (r) => {
      const type = r.pick(TYPES);
      const entries = validEntries(type, r);
      const text = objectText(entries, r);
      const compact = `{${entries.map(([k, v]) => `${q(k)}:${v}`).join(',')}}`;
      const numberField = type === 'transfer' ? 'amount' : 'timeoutSeconds';
      const ops: [string, () => string | Buffer][] = [
        ['trailing comma', () => `${compact.slice(0, -1)},}`],
        ['single quotes', () => compact.replaceAll('"', "'")],
        ['unquoted keys', () => `{${entries.map(([k, v]) => `${k}:${v}`).join(',')}}`],
        ['comment', () => r.pick([`/* c */${text}`, `${text}// c`, `{/**/${compact.slice(1)}`])],
        ['trailing garbage', () => text + r.pick(['x', '}', ',', text, ' 1', '\u0000', 'null', ']'])],
        ['leading garbage', () => r.pick(['x', '{', ']', ',', '\u0000', ")]}'\n"]) + text],
        ['bare literal', () => objectText(setEntry(entries, r.pick(REQUIRED[type]), r.pick(['NaN', 'Infinity', 'undefined', '-Infinity', 'None', 'nil', 'True', "'x'"])), r)],
        ['number syntax', () => objectText(setEntry(entries, numberField, r.pick(['007', '+1', '.5', '1.', '0x10', '1e', '1_000', '--1', '1e+', '- 1'])), r)],
        ['unterminated string', () => compact.slice(0, compact.lastIndexOf('"')) + compact.slice(compact.lastIndexOf('"') + 1)],
        [
          'raw control character in a string',
          () => {
            const field = type === 'transfer' ? r.pick(['from', 'to', 'memo']) : 'url';
            const inside = objectText(setEntry(entries, field, q(type === 'transfer' ? 'ab@@CTRL@@cd' : 'http://127.0.0.1:9/@@CTRL@@')), r);
            return inside.replace('@@CTRL@@', r.pick(['\u0000', '\u0001', '\n', '\t', '\u001f', '\r', '\b']));
          },
        ],
        ['invalid escape', () => compact.replace(/":"/, `":"${r.pick(['\\x41', '\\u12zz', '\\q', '\\u{41}', '\\U0041', '\\ '])}`)],
        ['missing colon', () => compact.replace(':', ' ')],
        // Between members, never inside a string (a value ending in a comma would leave valid JSON); one member gets a second.
        ['missing comma', () => `{${(entries.length > 1 ? entries : [...entries, ['extra', '1'] as const]).map(([k, v]) => `${q(k)}:${v}`).join(' ')}}`],
        ['mismatched bracket', () => `${compact.slice(0, -1)}]`],
        ['wrapped in parentheses', () => `(${compact})`],
        ['two documents', () => `${compact}\n${compact}`],
      ];
      const [name, make] = r.pick(ops);
      return bad('malformed-json', `${type} ${name}`, submitRequest(type, make()), [400]);
    },
  ],
  [
    16,
    (r) => {
      const type = r.pick(TYPES);
      const fields = WRONG_VALUES[type];
      const field = r.pick(Object.keys(fields));
      const value = r.pick(fields[field]!);
      return bad('wrong-type', `${type}.${field} = ${value.slice(0, 60)}`, submitRequest(type, objectText(setEntry(validEntries(type, r), field, value), r)), [400]);
    },
  ],
  [
    4,
    (r) => {
      const type = r.pick(TYPES);
      const amountish = NUMBERISH[type];
      const field = r.pick(Object.keys(amountish));
      const value = r.pick(amountish[field]!);
      return bad('numbers', `${type}.${field} = ${value}`, submitRequest(type, objectText(setEntry(validEntries(type, r), field, value), r)), [400]);
    },
  ],
  [
    6,
    (r) => {
      const type = r.pick(TYPES);
      const required = REQUIRED[type];
      const drop = new Set(r.chance(0.7) ? [r.pick(required)] : r.shuffle(required).slice(0, r.int(1, required.length)));
      return bad(
        'missing-field',
        `${type} without ${[...drop].join(', ')}`,
        submitRequest(
          type,
          objectText(
            validEntries(type, r).filter(([k]) => !drop.has(k)),
            r,
          ),
        ),
        [400],
      );
    },
  ],
  [
    8,
    (r) => {
      const type = r.pick(TYPES);
      let key = r.chance(0.8) ? r.pick([...EXTRA_KEYS, ...OTHER_FIELDS[type]]) : r.stringOf('abcdefghijklmnopqrstuvwxyz_', r.int(1, 12));
      if (OWN_FIELDS[type].includes(key)) key = `${key}_extra`;
      const entries = r.shuffle([...validEntries(type, r), [key, jsonValue(r, 2)] as [string, string]]);
      return bad('extra-field', `${type} + ${JSON.stringify(key).slice(0, 40)}`, submitRequest(type, objectText(entries, r)), [400]);
    },
  ],
  [
    3,
    (r) => {
      const same = account(r);
      return bad(
        'semantic',
        `transfer from = to = ${same}`,
        submitRequest(
          'transfer',
          objectText(
            r.shuffle([
              ['from', q(same)],
              ['to', q(same)],
              ['amount', String(r.int(1, 100))],
            ]),
            r,
          ),
        ),
        [400],
      );
    },
  ],
  [
    3,
    (r) => {
      const type = r.pick(TYPES);
      const text = r.pick(['null', 'true', 'false', '0', '-1', '"transfer"', '[]', '[{}]', '{}', `[${objectText(validEntries(type, r), r)}]`, '""', '1e400']);
      return bad('primitive', `${type} body ${text.slice(0, 40)}`, submitRequest(type, text), [400]);
    },
  ],
  [
    3,
    (r) => {
      const type = r.pick(TYPES);
      const body = r.pick<Buffer | string | undefined>([undefined, '', ' ', '\n\t', '\r\n', '\u00a0', '\u2028', '   \n   ']);
      return bad('empty-body', `${type} body ${JSON.stringify(body)}`, submitRequest(type, body, { base64: r.chance(0.2) && body !== undefined ? 'encode' : undefined }), [400]);
    },
  ],
  [
    2,
    (r) => {
      // Over twice SQS's message limit: refused before parsing, whatever the content.
      const type = r.pick(TYPES);
      const size = 2 * MAX_MESSAGE_BYTES + r.int(1, 300_000);
      const valid = objectText(validEntries(type, r), r);
      const [name, body] = r.pick<[string, () => string]>([
        ['whitespace-padded valid payload', () => valid + ' '.repeat(size - valid.length)],
        ['huge webhook body', () => `{"url":"http://127.0.0.1:9/h","body":${q('b'.repeat(size))}}`],
        ['garbage', () => 'x'.repeat(size)],
        ['multi-byte characters', () => `{"from":"a","to":"b","amount":1,"memo":${q('\u00e9'.repeat(Math.ceil(size / 2)))}}`],
        ['huge array', () => `[${'1,'.repeat(Math.ceil(size / 2))}1]`],
      ]);
      return bad('huge-body', `${type} ${name} (>2 MiB)`, submitRequest(type, body()), [413]);
    },
  ],
  [
    1,
    (r) => {
      // A webhook whose message is over the job message limit (256 KiB), up to about 1.1 MiB.
      const bodyBytes = MAX_SUBMIT_MESSAGE_BYTES + r.int(0, 900_000);
      return bad(
        'huge-body',
        `webhook body of ${bodyBytes} bytes (message over the limit)`,
        submitRequest('webhook', `{"url":"http://127.0.0.1:9/h","body":${q('b'.repeat(bodyBytes))}}`),
        [413],
      );
    },
  ],
  [
    1,
    (r) => {
      // Between 1 and 2 MiB: larger than any SQS message, so 413 whatever the body says.
      const size = MAX_MESSAGE_BYTES + r.int(1, 900_000);
      const [name, text] = r.pick<[string, () => string]>([
        ['transfer with a huge memo', () => `{"from":"a","to":"b","amount":1,"memo":${q('m'.repeat(size))}}`],
        ['garbage', () => `{${'x'.repeat(size)}`],
      ]);
      return bad('huge-body', `${name} (1-2 MiB)`, submitRequest('transfer', text()), [413]);
    },
  ],
  [
    4,
    (r) => {
      const depth = DEPTH + r.int(0, 5000);
      const type = r.pick(TYPES);
      const options: [string, () => string][] =
        type === 'transfer'
          ? [
              ['whole body', () => deep(r, depth)],
              ['a field', () => objectText(setEntry(transferEntries(r), r.pick(['from', 'to', 'amount', 'memo']), deep(r, depth)), r)],
              ['an extra field', () => objectText(setEntry(transferEntries(r), 'nested', deep(r, depth)), r)],
              ['unterminated', () => '['.repeat(depth)],
            ]
          : [
              ['whole body', () => deep(r, depth)],
              ['url', () => objectText(setEntry(webhookEntries(r), 'url', deep(r, depth)), r)],
              ['headers', () => objectText(setEntry(webhookEntries(r), 'headers', `{"x-a":${deep(r, depth)}}`), r)],
              ['an extra field', () => objectText(setEntry(webhookEntries(r), 'nested', deep(r, depth)), r)],
              ['unterminated', () => `{"url":"http://127.0.0.1:9/h","body":${'['.repeat(depth)}`],
            ];
      const [where, text] = r.pick(options);
      return bad('deep-nesting', `${type} ${depth} levels in ${where}`, submitRequest(type, text()), [400]);
    },
  ],
  [
    5,
    (r) => {
      const type = r.chance(0.8) ? r.pick(UNKNOWN_TYPES) : r.stringOf('abcdefghijklmnopqrstuvwxyz-', r.int(1, 20));
      const known = r.pick(TYPES);
      const request = r.chance(0.1)
        ? { ...submitRequest(known, objectText(validEntries(known, r), r)), pathParameters: r.pick<Record<string, string> | null>([null, {}, { type: known }]) }
        : submitRequest(type, objectText(validEntries(known, r), r));
      return bad('unknown-type', `POST /jobs/${JSON.stringify(type).slice(0, 40)} params=${JSON.stringify(request.pathParameters)?.slice(0, 40)}`, request, [404]);
    },
  ],
  [
    8,
    (r) => {
      const uuid = r.uuid();
      const id = r.pick([
        uuid,
        uuid,
        uuid,
        '00000000-0000-0000-0000-000000000000',
        uuid.toUpperCase(),
        uuid.replaceAll('-', ''),
        `{${uuid}}`,
        `${uuid} `,
        ` ${uuid}`,
        uuid.slice(0, -1),
        `${uuid}a`,
        uuid.replace(/[0-9a-f]$/, 'g'),
        '',
        'null',
        'undefined',
        'transfer',
        '*',
        '%',
        '..',
        '../jobs',
        'jobs/1',
        "' OR 1=1 --",
        'x'.repeat(5000),
        '\u0000',
        '\u00e9',
        `JOB#${uuid}`,
        `${uuid}/`,
        `${uuid}\n`,
      ]);
      const params = r.chance(0.05) ? null : { id };
      return bad(
        'get-unknown-or-malformed',
        `GET /jobs/${JSON.stringify(id).slice(0, 50)}`,
        {
          method: 'GET',
          routeKey: ROUTES.status,
          rawPath: `/jobs/${encodeURIComponent(id)}`,
          pathParameters: params,
          contentType: null,
          body: r.chance(0.1) ? '{"x":1}' : undefined,
        },
        [404],
      );
    },
  ],
  [
    8,
    (r) => {
      const type = r.pick(TYPES);
      const text = objectText(validEntries(type, r), r);
      const [name, value] = r.pick<[string, () => string | string[]]>([
        ['too long', () => keyChars(r, r.int(256, 8192))],
        ['empty', () => ''],
        ['repeated', () => [keyChars(r, r.int(1, 40)), keyChars(r, r.int(1, 40))]],
        [
          'repeated identical',
          () => {
            const k = keyChars(r, r.int(1, 40));
            return [k, k];
          },
        ],
        ['with a comma', () => `${keyChars(r, r.int(0, 20))},${keyChars(r, r.int(0, 20))}`],
        [
          'control character',
          () => {
            const k = keyChars(r, r.int(0, 30));
            const at = r.int(0, k.length);
            return k.slice(0, at) + String.fromCharCode(r.pick([0, 1, 9, 10, 13, 27, 31, 127])) + k.slice(at);
          },
        ],
        ['non-ASCII', () => r.pick(['cl\u00e9', 'ключ', '\u{1f511}', `k-${'\u00a0'}`, 'k\u2028', 'k\ufeff'])],
      ]);
      const headers: Record<string, string | string[]> = { [r.pick(['idempotency-key', 'Idempotency-Key'])]: value() };
      if (r.chance(0.3)) headers['x-padding'] = 'p'.repeat(r.int(8192, 65536));
      return bad('idempotency-key', `${type} key ${name}`, submitRequest(type, text, { headers }), [400]);
    },
  ],
  [
    5,
    (r) => {
      const type = r.pick(TYPES);
      const contentType = r.chance(0.15) ? ['application/json', r.pick(['application/json', 'text/plain'])] : r.pick(WRONG_CONTENT_TYPES);
      return bad('content-type', `${type} content-type ${JSON.stringify(contentType)}`, submitRequest(type, objectText(validEntries(type, r), r), { contentType }), [415]);
    },
  ],
  [
    5,
    (r) => {
      const type = r.pick(TYPES);
      const routeKey = r.pick(WRONG_ROUTE_KEYS);
      const method = /^[A-Za-z]+ /.test(routeKey) ? routeKey.split(' ')[0]! : r.pick(['GET', 'POST', 'DELETE', 'PUT']);
      const rawPath = r.pick([`/jobs/${type}`, `/jobs/${r.uuid()}`, '/', '/jobs', `/jobs/${type}/extra`, '/other', `/jobs/${type}/`, '/jobs//']);
      const params = r.pick<Record<string, string> | null>([{ type }, { id: r.uuid() }, null, { type, id: r.uuid() }]);
      return bad(
        'wrong-route',
        `${JSON.stringify(routeKey)} ${rawPath}`,
        { method, routeKey, rawPath, pathParameters: params, body: objectText(validEntries(type, r), r) },
        [404, 405],
      );
    },
  ],
  [
    4,
    (r) => {
      const type = r.pick(TYPES);
      const [name, request] = r.pick<[string, () => Request]>([
        ['random bytes', () => submitRequest(type, r.bytes(r.int(1, 2000)), { base64: 'encode' })],
        ['JSON text flagged as base64', () => submitRequest(type, objectText(validEntries(type, r), r), { base64: 'flag-only' })],
        ['not base64 at all', () => submitRequest(type, r.pick(['!!!!', '@@@@====', '\u00e9\u00e9', '-_-_']), { base64: 'flag-only' })],
        ['base64 of an invalid payload', () => submitRequest(type, objectText(setEntry(validEntries(type, r), REQUIRED[type][0]!, 'null'), r), { base64: 'encode' })],
        [
          'base64 of text with bytes that are not UTF-8',
          () => submitRequest(type, Buffer.concat([r.pick(INVALID_UTF8), Buffer.from(objectText(validEntries(type, r), r))]), { base64: 'encode' }),
        ],
      ]);
      return bad('base64', `${type} ${name}`, request(), [400]);
    },
  ],
  [
    4,
    (r) => {
      const type = r.pick(TYPES);
      const text = objectText(validEntries(type, r), r);
      const bytes = r.pick(INVALID_UTF8);
      const [name, body, extra] = r.pick<[string, () => Buffer, Omit<Request, 'body'>?]>([
        ['before the object', () => Buffer.concat([bytes, Buffer.from(text)])],
        ['between tokens', () => Buffer.concat([Buffer.from('{'), bytes, Buffer.from(text.slice(1))])],
        ['after the object', () => Buffer.concat([Buffer.from(text), bytes])],
        ['inside an account id or header name', () => withBytesInAccount(type, r, bytes)],
        ['inside an account id or header name, base64', () => withBytesInAccount(type, r, bytes), { base64: 'encode' }],
        ['UTF-16LE', () => Buffer.from(text, 'utf16le'), { contentType: r.pick(['application/json', 'application/json; charset=utf-16']) }],
        ['UTF-16BE', () => Buffer.from(text, 'utf16le').swap16()],
        ['UTF-16LE with BOM', () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
        ['Latin-1 in an account id', () => withBytesInAccount(type, r, Buffer.from([0xe9]))],
      ]);
      return bad('not-utf8', `${type} ${name} (${bytes.toString('hex')})`, submitRequest(type, body(), extra), [400]);
    },
  ],
  [
    2,
    (r) => {
      const type = r.pick(TYPES);
      const text = objectText(validEntries(type, r), r);
      const [name, body] = r.pick<[string, () => Buffer | string]>([
        ['BOM character', () => `\ufeff${text}`],
        ['UTF-8 BOM bytes', () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])],
        ['two BOMs', () => `\ufeff\ufeff${text}`],
        ['BOM base64', () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])],
      ]);
      return bad('bom', `${type} ${name}`, submitRequest(type, body(), name.endsWith('base64') ? { base64: 'encode' } : {}), [400]);
    },
  ],
];

const CATEGORIES = [
  'valid',
  'valid-replay',
  'key-reuse',
  'truncated',
  'malformed-json',
  'wrong-type',
  'numbers',
  'missing-field',
  'extra-field',
  'semantic',
  'primitive',
  'empty-body',
  'huge-body',
  'deep-nesting',
  'unknown-type',
  'get-unknown-or-malformed',
  'idempotency-key',
  'content-type',
  'wrong-route',
  'base64',
  'not-utf8',
  'bom',
];

function generate(index: number, keyed: readonly KeyedJob[]): Case {
  const r = Prng.forCase(SEED, index);
  // Every 20th request is valid (5%); the rest are drawn from the bad ones (and a few valid replays).
  return index % VALID_EVERY === VALID_EVERY - 1 ? validCase(index, r) : r.weighted(GENERATORS)(r, index, keyed);
}

// ---------------------------------------------------------------------------------------------------------
// Checks

interface Violation {
  index: number;
  category: string;
  note: string;
  problem: string;
}

/** What is wrong with a response to a bad request (undefined when it is a proper refusal). */
function refusalProblem(response: ApiResponse, status?: readonly number[]): string | undefined {
  const body = response.body ?? '';
  const shown = `${response.statusCode} ${String(body).slice(0, 200)}`;
  if (response.statusCode < 400 || response.statusCode > 499) return `expected a 4xx, got ${shown}`;
  if (status && !status.includes(response.statusCode)) return `expected ${status.join(' or ')}, got ${shown}`;
  if (!/^application\/json\b/.test(response.headers['content-type'] ?? '')) return `content-type ${response.headers['content-type']}`;
  let parsed: any;
  try {
    parsed = JSON.parse(String(body));
  } catch {
    return `body is not JSON: ${shown}`;
  }
  const error = parsed?.error;
  if (typeof error?.code !== 'string' || error.code === '') return `no error.code: ${shown}`;
  if (typeof error?.message !== 'string' || error.message.trim() === '') return `no error.message: ${shown}`;
  return undefined;
}

async function scanJobs(table: string): Promise<Map<string, { type: string; status: string }>> {
  const jobs = new Map<string, { type: string; status: string }>();
  const other: string[] = [];
  let start: Record<string, any> | undefined;
  do {
    const page = await dynamoClient().send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      const pk = item.pk?.S ?? '';
      if (pk.startsWith('JOB#')) jobs.set(item.jobId?.S ?? '', { type: item.type?.S ?? '', status: item.status?.S ?? '' });
      else other.push(pk);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  expect(other, `seed ${SEED}: items that are not job records`).toEqual([]);
  return jobs;
}

/** Receives and deletes every message of a queue; returns the bodies. */
async function drain(queue: CreatedQueue): Promise<string[]> {
  const sqs = await sqsClient();
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300 }));
    if (Messages.length === 0) return bodies;
    bodies.push(...Messages.map((m) => m.Body ?? ''));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
}

async function expectEmpty(queue: CreatedQueue, label: string): Promise<void> {
  const sqs = await sqsClient();
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  expect(
    Messages.map((m) => m.Body?.slice(0, 200)),
    `seed ${SEED}: ${label} should hold no message`,
  ).toEqual([]);
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  expect(Attributes?.ApproximateNumberOfMessages, `seed ${SEED}: ${label} ApproximateNumberOfMessages`).toBe('0');
  expect(Attributes?.ApproximateNumberOfMessagesNotVisible, `seed ${SEED}: ${label} ApproximateNumberOfMessagesNotVisible`).toBe('0');
}

interface Stack {
  table: string;
  queues: Record<TypeName, JobQueues>;
  deps: SubmitDeps;
}

async function freshStack(): Promise<Stack> {
  const [table, t, w] = await Promise.all([createJobsTable(), createJobQueues(JOB_TYPES.transfer), createJobQueues(JOB_TYPES.webhook)]);
  const queues = { transfer: t, webhook: w };
  return { table, queues, deps: apiDeps(table, queues) };
}

/**
 * The record and the message of every accepted job are there, and nothing else: no record, no message,
 * nothing in a DLQ. Drains the queues.
 */
async function expectExactlyRecordedAndEnqueued(stack: Stack, accepted: Record<TypeName, Set<string>>): Promise<void> {
  const jobs = await scanJobs(stack.table);
  const expected = new Map<string, string>();
  for (const type of TYPES) for (const jobId of accepted[type]) expected.set(jobId, type);
  const unexpected = [...jobs.keys()].filter((id) => !expected.has(id));
  expect(unexpected, `seed ${SEED}: job records that no accepted request created`).toEqual([]);
  expect(
    [...expected.keys()].filter((id) => !jobs.has(id)),
    `seed ${SEED}: accepted jobs without a record`,
  ).toEqual([]);
  for (const [jobId, job] of jobs) expect({ jobId, type: job.type, status: job.status }, `seed ${SEED}`).toEqual({ jobId, type: expected.get(jobId), status: 'PENDING' });

  for (const type of TYPES) {
    const bodies = await drain(stack.queues[type].queue);
    const ids = bodies.map((b) => {
      const m = JSON.parse(b) as { jobId: string; type: string };
      expect(m.type, `seed ${SEED}: message type on the ${type} queue`).toBe(type);
      return m.jobId;
    });
    // Every accepted job has a message, and no message is of a job that was not accepted. A same-key
    // resubmit of a job still PENDING sends its message again (its first send may never have happened),
    // so one job may have several.
    expect([...new Set(ids)].toSorted(), `seed ${SEED}: jobs with messages on the ${type} queue`).toEqual([...new Set(accepted[type])].toSorted());
    await expectEmpty(stack.queues[type].queue, `the ${type} queue`);
    await expectEmpty(stack.queues[type].dlq, `the ${type} DLQ`);
  }
}

async function runCases(cases: readonly Case[], stack: Stack, accepted: Record<TypeName, Set<string>>, violations: Violation[], offset = 0): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i]!;
      const index = offset + i;
      let response: ApiResponse;
      try {
        response = await route(toEvent(c.request), stack.deps);
      } catch (error) {
        violations.push({ index, category: c.category, note: c.note, problem: `route() threw ${String(error)}` });
        continue;
      }
      const problem = checkResponse(c, response, accepted);
      if (problem) violations.push({ index, category: c.category, note: c.note, problem });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
}

function checkResponse(c: Case, response: ApiResponse, accepted: Record<TypeName, Set<string>>): string | undefined {
  if (c.expect.kind === 'bad') return refusalProblem(response, c.expect.status);
  const shown = `${response.statusCode} ${String(response.body).slice(0, 300)}`;
  if (response.statusCode !== 202) return `expected 202, got ${shown}`;
  const body = JSON.parse(String(response.body)) as { jobId: string; type: string; status: string };
  if (c.expect.kind === 'replay') {
    if (body.jobId !== c.expect.jobId || response.headers['idempotent-replayed'] !== 'true') return `expected a replay of ${c.expect.jobId}, got ${shown}`;
    return undefined;
  }
  if (!isJobId(body.jobId) || body.type !== c.expect.type || body.status !== 'PENDING') return `unexpected 202 body ${shown}`;
  if (accepted[c.expect.type].has(body.jobId)) return `job id ${body.jobId} handed out twice`;
  accepted[c.expect.type].add(body.jobId);
  return undefined;
}

function report(violations: readonly Violation[]): string {
  const lines = violations.slice(0, 40).map((v) => `  #${v.index} [${v.category}] ${v.note}: ${v.problem}`);
  return `seed ${SEED} (replay: JOBLINE_FUZZ_SEED=${SEED}), ${violations.length} violation(s):\n${lines.join('\n')}`;
}

// ---------------------------------------------------------------------------------------------------------

describe(`API fuzz (seed ${SEED})`, () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await freshStack();
  });

  it(
    `answers ${REQUESTS} generated requests: 4xx with a reason for every bad one, 202 and recorded for the valid ones, nothing else recorded or enqueued`,
    { timeout: 120_000 },
    async () => {
      onTestFailed(() => console.error(`api-fuzz failed: replay with JOBLINE_FUZZ_SEED=${SEED} npx vitest run test/integration/api-fuzz.test.ts`));
      const started = Date.now();
      const accepted: Record<TypeName, Set<string>> = { transfer: new Set(), webhook: new Set() };

      // Valid keyed submits first: replays and key reuse in the fuzz refer to them.
      const keyed: KeyedJob[] = [];
      const setup = new Prng(SEED ^ 0x5eed);
      for (let i = 0; i < KEYED_JOBS; i++) {
        const type = TYPES[i % TYPES.length]!;
        const key = `keyed-${SEED}-${i}-${keyChars(setup, setup.int(0, 30))}`;
        const text = objectText(validEntries(type, setup), setup);
        const response = await route(toEvent(submitRequest(type, text, { headers: { 'idempotency-key': key } })), stack.deps);
        expect(response.statusCode, `seed ${SEED}: keyed submit ${i}: ${response.body}`).toBe(202);
        const jobId = JSON.parse(String(response.body)).jobId as string;
        accepted[type].add(jobId);
        keyed.push({ type, key, text, jobId });
      }

      const cases = Array.from({ length: REQUESTS }, (_, i) => generate(i, keyed));
      const violations: Violation[] = [];
      await runCases(cases, stack, accepted, violations);
      const fuzzMs = Date.now() - started;

      const counts = new Map<string, number>();
      for (const c of cases) counts.set(c.category, (counts.get(c.category) ?? 0) + 1);
      const validCount = cases.filter((c) => c.expect.kind === 'valid').length;
      console.log(`api-fuzz seed ${SEED}: ${cases.length} requests in ${fuzzMs} ms (${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')})`);

      expect(violations, report(violations)).toEqual([]);
      // Every category was exercised, and the valid sprinkle is big enough to mean something.
      expect([...counts.keys()].toSorted(), `seed ${SEED}: categories`).toEqual([...CATEGORIES].toSorted());
      expect(validCount, `seed ${SEED}: valid requests`).toBe(Math.floor(REQUESTS / VALID_EVERY));
      expect(accepted.transfer.size + accepted.webhook.size).toBe(validCount + KEYED_JOBS);

      await expectExactlyRecordedAndEnqueued(stack, accepted);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------
// Bugs this fuzz found (issue 4), each kept as a regression test on the input that triggered it.

describe('API fuzz: regressions', () => {
  async function expectRefused(cases: Case[]): Promise<void> {
    const stack = await freshStack();
    const accepted: Record<TypeName, Set<string>> = { transfer: new Set(), webhook: new Set() };
    const violations: Violation[] = [];
    await runCases(cases, stack, accepted, violations);
    expect(violations, report(violations)).toEqual([]);
    await expectExactlyRecordedAndEnqueued(stack, accepted);
  }

  it('refuses a webhook body nested 10,000 levels deep with a 400 (it once overflowed the stack: 503)', async () => {
    const r = new Prng(SEED);
    await expectRefused([
      bad('deep-nesting', 'webhook body, arrays', submitRequest('webhook', `{"url":"http://127.0.0.1:9/h","body":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}`), [400]),
      bad('deep-nesting', 'webhook body, objects', submitRequest('webhook', `{"url":"http://127.0.0.1:9/h","body":${deep(r, DEPTH)}}`), [400]),
    ]);
  });

  it('refuses every body over 1 MiB with 413, even a whitespace-padded valid payload', { timeout: 60_000 }, async () => {
    const valid = '{"from":"a","to":"b","amount":1}';
    await expectRefused([
      bad('huge-body', 'padded valid payload, 1.5 MiB', submitRequest('transfer', valid + ' '.repeat(1_500_000)), [413]),
      bad('huge-body', 'invalid JSON, 1.5 MiB', submitRequest('transfer', `{${'x'.repeat(1_500_000)}`), [413]),
    ]);
  });

  it('refuses bytes that are not UTF-8 inside a JSON string with a 400 (they once became U+FFFD silently)', async () => {
    const body = Buffer.concat([Buffer.from('{"from":"a","to":"b","amount":1,"memo":"'), Buffer.from([0xff, 0xc3, 0x28]), Buffer.from('"}')]);
    await expectRefused([bad('not-utf8', 'in memo, base64-encoded event', submitRequest('transfer', body, { base64: 'encode' }), [400])]);
  });

  it('refuses webhook header values that fetch cannot send (CR/LF, NUL, non-Latin-1) with a 400', async () => {
    const hook = (value: string) => submitRequest('webhook', JSON.stringify({ url: 'http://127.0.0.1:9/h', body: {}, headers: { 'x-a': value } }));
    await expectRefused([
      bad('wrong-type', 'header value with CR LF', hook('a\r\nb'), [400]),
      bad('wrong-type', 'header value with NUL', hook('a\u0000b'), [400]),
      bad('wrong-type', 'header value with a non-Latin-1 character', hook('\u20ac')),
    ]);
  });

  it('refuses a webhook header named "__proto__" with a 400 (it was once dropped silently)', async () => {
    await expectRefused([bad('wrong-type', 'headers.__proto__', submitRequest('webhook', '{"url":"http://127.0.0.1:9/h","body":{},"headers":{"__proto__":"x"}}'), [400])]);
  });
});
