/**
 * Counts what a DynamoDB client sends: every HTTP request (SDK retries included) and the write and read
 * request units it costs.
 *
 * The middleware sits in the `deserialize` step, which the SDK runs inside its retry loop (the retry
 * middleware lives in `finalizeRequest`, above it), so each attempt is counted once, whatever its answer.
 *
 * Units are counted from the request, as DynamoDB bills them, not from its answer:
 * - PutItem / UpdateItem / DeleteItem: 1 WRU (every item in this benchmark is far below 1 KB);
 *   a write whose condition fails still costs its WRU;
 * - TransactWriteItems: 2 WRU per item of the transaction (a cancelled one included);
 * - BatchWriteItem: 1 WRU per item;
 * - GetItem / BatchGetItem with ConsistentRead: 1 RRU per item (0.5 when eventually consistent);
 *   TransactGetItems: 2 RRU per item.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface Counts {
  requests: number;
  wru: number;
  rru: number;
  byCommand: Record<string, number>;
  /** Summed wall time of each command's requests (they overlap when sent in parallel). */
  msByCommand: Record<string, number>;
}

export class RequestCounter {
  private counts: Counts = RequestCounter.empty();

  static empty(): Counts {
    return { requests: 0, wru: 0, rru: 0, byCommand: {}, msByCommand: {} };
  }

  /** Counts one request; call the returned function when its answer is in. */
  record(command: string, input: Record<string, unknown>): () => void {
    const c = this.counts;
    const start = performance.now();
    c.requests += 1;
    c.byCommand[command] = (c.byCommand[command] ?? 0) + 1;
    const units = requestUnits(command, input);
    c.wru += units.wru;
    c.rru += units.rru;
    return () => {
      c.msByCommand[command] = (c.msByCommand[command] ?? 0) + (performance.now() - start);
    };
  }

  /** Returns the counts so far and starts again from zero. */
  take(): Counts {
    const counts = this.counts;
    this.counts = RequestCounter.empty();
    return counts;
  }
}

function requestUnits(command: string, input: Record<string, unknown>): { wru: number; rru: number } {
  const readUnit = (consistent: unknown) => (consistent === true ? 1 : 0.5);
  switch (command) {
    case 'PutItemCommand':
    case 'UpdateItemCommand':
    case 'DeleteItemCommand':
      return { wru: 1, rru: 0 };
    case 'TransactWriteItemsCommand':
      return { wru: 2 * ((input.TransactItems as unknown[] | undefined)?.length ?? 0), rru: 0 };
    case 'BatchWriteItemCommand': {
      const tables = Object.values((input.RequestItems ?? {}) as Record<string, unknown[]>);
      return { wru: tables.reduce((n, writes) => n + writes.length, 0), rru: 0 };
    }
    case 'GetItemCommand':
      return { wru: 0, rru: readUnit(input.ConsistentRead) };
    case 'BatchGetItemCommand': {
      const tables = Object.values((input.RequestItems ?? {}) as Record<string, { Keys?: unknown[]; ConsistentRead?: boolean }>);
      return { wru: 0, rru: tables.reduce((n, t) => n + (t.Keys?.length ?? 0) * readUnit(t.ConsistentRead), 0) };
    }
    case 'TransactGetItemsCommand':
      return { wru: 0, rru: 2 * ((input.TransactItems as unknown[] | undefined)?.length ?? 0) };
    default:
      return { wru: 0, rru: 0 };
  }
}

/** Adds a counter to `client`: every request it sends from now on is counted. */
export function countRequests(client: DynamoDBClient): RequestCounter {
  const counter = new RequestCounter();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const done = counter.record(context.commandName ?? 'unknown', (args.input ?? {}) as Record<string, unknown>);
      try {
        return await next(args);
      } finally {
        done();
      }
    },
    { step: 'deserialize', name: 'benchRoundTripCounter' },
  );
  return counter;
}
