/** Turns SQS ReceiveMessage results into the records of a Lambda SQS event, as Lambda's poller does. */
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';

export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const a = message.Attributes ?? {};
  const attributes: SQSRecordAttributes = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? String(Date.now()),
    SenderId: a.SenderId ?? 'local',
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    ...(a.MessageGroupId !== undefined ? { MessageGroupId: a.MessageGroupId } : {}),
    ...(a.MessageDeduplicationId !== undefined ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
    ...(a.SequenceNumber !== undefined ? { SequenceNumber: a.SequenceNumber } : {}),
    ...(a.DeadLetterQueueSourceArn !== undefined ? { DeadLetterQueueSourceArn: a.DeadLetterQueueSourceArn } : {}),
  };
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** Lambda's synchronous invocation payload limit (request and response), in bytes: 6 MB. */
export const MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024;

/**
 * One parsed pattern of an event source mapping's FilterCriteria (`{ Filters: [{ Pattern: "<json>" }] }`),
 * as Lambda event filtering takes it: https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
 */
export type FilterPattern = Record<string, unknown>;

const OPERATORS = new Set(['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists']);
const NUMERIC_OPERATORS = new Set(['=', '<', '<=', '>', '>=']);

/**
 * The patterns of a FilterCriteria property, checked: the local runtime implements the common subset of
 * Lambda's filter rule syntax (exact values, null, empty string, prefix, suffix, equals-ignore-case,
 * anything-but, numeric ranges, exists), and refuses anything else (cidr, wildcard, $or...) at start with
 * the reason rather than deliver records AWS would filter out.
 */
export function parseFilterCriteria(criteria: unknown, where: string): FilterPattern[] {
  if (criteria === undefined || criteria === null) return [];
  const filters = (criteria as { Filters?: unknown }).Filters;
  if (filters === undefined) return [];
  if (!Array.isArray(filters)) throw new Error(`${where}: FilterCriteria.Filters must be a list`);
  return filters.map((filter: unknown, i) => {
    const text = (filter as { Pattern?: unknown } | null)?.Pattern;
    if (typeof text !== 'string')
      throw new Error(`${where}: FilterCriteria.Filters[${i}].Pattern must be a JSON string (the local runtime cannot resolve ${JSON.stringify(text)})`);
    let pattern: unknown;
    try {
      pattern = JSON.parse(text);
    } catch {
      throw new Error(`${where}: FilterCriteria.Filters[${i}].Pattern is not valid JSON: ${text}`);
    }
    if (!isObject(pattern)) throw new Error(`${where}: FilterCriteria.Filters[${i}].Pattern must be a JSON object: ${text}`);
    checkPattern(pattern, `${where}: FilterCriteria.Filters[${i}].Pattern`);
    return pattern;
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkPattern(pattern: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(pattern)) {
    if (key.startsWith('$'))
      throw new Error(`${where}: ${key} is not supported by the local runtime (supported: exact values, prefix, suffix, equals-ignore-case, anything-but, numeric, exists)`);
    if (isObject(value)) checkPattern(value, `${where}.${key}`);
    else if (Array.isArray(value)) value.forEach((matcher) => checkMatcher(matcher, `${where}.${key}`));
    else throw new Error(`${where}.${key}: a filter value must be a list of matchers or an object, not ${JSON.stringify(value)}`);
  }
}

function checkMatcher(matcher: unknown, where: string): void {
  if (!isObject(matcher)) return; // a literal: string, number, boolean or null
  const names = Object.keys(matcher);
  const name = names[0];
  if (names.length !== 1 || name === undefined || !OPERATORS.has(name)) {
    throw new Error(
      `${where}: the filter rule ${JSON.stringify(matcher)} is not supported by the local runtime (supported: exact values, prefix, suffix, equals-ignore-case, anything-but, numeric, exists)`,
    );
  }
  const operand = matcher[name];
  const bad = () => new Error(`${where}: invalid ${name} rule ${JSON.stringify(matcher)}`);
  if ((name === 'prefix' || name === 'suffix' || name === 'equals-ignore-case') && typeof operand !== 'string') throw bad();
  if (name === 'exists' && typeof operand !== 'boolean') throw bad();
  if (name === 'numeric') {
    if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0) throw bad();
    for (let i = 0; i < operand.length; i += 2) if (!NUMERIC_OPERATORS.has(operand[i] as string) || typeof operand[i + 1] !== 'number') throw bad();
  }
  if (name === 'anything-but') {
    const ok = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
    if (!(ok(operand) || (Array.isArray(operand) && operand.every(ok)) || (isObject(operand) && Object.keys(operand).length === 1 && typeof operand.prefix === 'string')))
      throw bad();
  }
}

/**
 * Whether Lambda sends this record to the function: no patterns, or at least one pattern matches (the
 * filters are ORed). For SQS the `body` is parsed as JSON when a pattern looks into it (a body that is not
 * JSON only matches a pattern that compares `body` as a string).
 */
export function matchesFilters(record: SQSRecord, patterns: readonly FilterPattern[]): boolean {
  if (patterns.length === 0) return true;
  let parsed: unknown;
  let parsedBody = false;
  const bodyAsJson = () => {
    if (!parsedBody) {
      parsedBody = true;
      try {
        parsed = JSON.parse(record.body);
      } catch {
        parsed = NOT_JSON;
      }
    }
    return parsed;
  };
  return patterns.some((pattern) => {
    const event: Record<string, unknown> = { ...record };
    if (isObject(pattern.body)) event.body = bodyAsJson();
    return matchObject(pattern, event);
  });
}

/**
 * Whether an event (a DynamoDB stream record, an EventBridge event) matches any of the patterns (ORed; no
 * patterns: every event), with the same rules as FilterCriteria: EventBridge's pattern syntax.
 */
export function matchesPatterns(event: Record<string, unknown>, patterns: readonly FilterPattern[]): boolean {
  return patterns.length === 0 || patterns.some((pattern) => matchObject(pattern, event));
}

/** An EventBridge rule's EventPattern (an object or its JSON text), checked as FilterCriteria patterns are. */
export function parseEventPattern(value: unknown, where: string): FilterPattern {
  const pattern: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (!isObject(pattern)) throw new Error(`${where}: EventPattern must be a JSON object`);
  checkPattern(pattern, `${where}: EventPattern`);
  return pattern;
}

const NOT_JSON = Symbol('not JSON');
const MISSING = Symbol('missing');

function matchObject(pattern: Record<string, unknown>, value: unknown): boolean {
  // An object the event lacks has none of the fields below it: only `exists: false` rules can match there.
  if (value === MISSING) value = {};
  if (!isObject(value)) return false;
  for (const [key, rule] of Object.entries(pattern)) {
    const field = Object.hasOwn(value, key) ? value[key] : MISSING;
    if (isObject(rule)) {
      if (!matchObject(rule, field)) return false;
    } else if (!(rule as unknown[]).some((matcher) => matchField(matcher, field))) return false;
  }
  return true;
}

/** One matcher against a field; a field that is a list matches when any of its elements does. */
function matchField(matcher: unknown, field: unknown): boolean {
  if (isObject(matcher) && 'exists' in matcher) return (field !== MISSING) === matcher.exists;
  if (field === MISSING) return false;
  if (Array.isArray(field)) return field.some((element) => matchValue(matcher, element));
  return matchValue(matcher, field);
}

function matchValue(matcher: unknown, value: unknown): boolean {
  if (!isObject(matcher)) return value === matcher;
  const [name, operand] = Object.entries(matcher)[0]!;
  switch (name) {
    case 'prefix':
      return typeof value === 'string' && value.startsWith(operand as string);
    case 'suffix':
      return typeof value === 'string' && value.endsWith(operand as string);
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === (operand as string).toLowerCase();
    case 'numeric': {
      if (typeof value !== 'number') return false;
      const rules = operand as (string | number)[];
      for (let i = 0; i < rules.length; i += 2) {
        const n = rules[i + 1] as number;
        const ok = { '=': value === n, '<': value < n, '<=': value <= n, '>': value > n, '>=': value >= n }[rules[i] as string];
        if (!ok) return false;
      }
      return true;
    }
    case 'anything-but': {
      if (isObject(operand)) return typeof value === 'string' && !value.startsWith(operand.prefix as string);
      const excluded = Array.isArray(operand) ? operand : [operand];
      return !excluded.includes(value);
    }
    default:
      return false;
  }
}
