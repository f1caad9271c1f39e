/**
 * The rate limit under competition: 20 workers (each with a DynamoDB client of its own, as separate Lambda
 * invocations have) take start slots of one key for a minute, each starting a job at its slot and asking
 * again at once, as shared/limits/admission.ts does. Measured: jobs started in the minute against what the
 * limit allows (burst + rate x 60 s), and the fullest second. Target: within 10% over the minute. It
 * measures the limiter against DynamoDB Local, not a whole worker (test/integration/limits.test.ts runs
 * workers under limits); no peer.
 */
import { ensureTable } from '../local/provision';
import { takeRateSlot } from '../shared/limits/rate-limit';
import { sleep } from '../shared/sleep';
import { jobTableSchema } from '../shared/store/table-schema';
import { benchDynamoClient } from './clients';
import { isMainModule, printRowsAlone } from './run-alone';
import type { Row, Target } from './table';

const WORKERS = 20;
const RATE = { perSecond: 50, burst: 50 };
const SECONDS = 60;

export interface RateLimitRun {
  started: number;
  allowed: number;
  /** The most starts in any one second, by the time each job started (after its wait, so timer lateness bunches them). */
  fullestSecond: number;
  /** The same by the start time the limiter granted each job (its slot, or when it asked if the slot had passed). */
  fullestSecondGranted: number;
}

export async function measureRateLimit(dynamodbEndpoint: string): Promise<RateLimitRun> {
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamodbEndpoint;
  const tableName = `bench-limits-${Date.now()}`;
  await ensureTable(benchDynamoClient(), jobTableSchema(tableName));
  const pk = `LIMIT#RATE#bench#${tableName}`;
  const starts: number[] = [];
  const granted: number[] = [];
  const from = Date.now();
  const until = from + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      const client = benchDynamoClient();
      for (;;) {
        const asked = Date.now();
        const slot = await takeRateSlot(client, tableName, pk, RATE, asked);
        if (slot.at >= until) return;
        granted.push(Math.max(slot.at, asked));
        const wait = slot.at - Date.now();
        if (wait > 0) await sleep(wait);
        starts.push(Date.now());
      }
    }),
  );
  return { started: starts.length, allowed: RATE.burst + RATE.perSecond * SECONDS, fullestSecond: fullestSecond(starts), fullestSecondGranted: fullestSecond(granted) };
}

function fullestSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let fullest = 0;
  let end = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (end < sorted.length && sorted[end]! < sorted[i]! + 1000) end++;
    fullest = Math.max(fullest, end - i);
  }
  return fullest;
}

export function rateLimitRows(run: RateLimitRun): Row[] {
  return [
    {
      benchmark: `rate limit ${RATE.perSecond}/s (burst ${RATE.burst}), ${WORKERS} workers, ${SECONDS} s`,
      metric: 'jobs started / allowed',
      jobline: `${run.started} / ${run.allowed} (${((run.started / run.allowed) * 100).toFixed(1)}%)`,
    },
    {
      benchmark: 'rate limit: fullest second',
      metric: `jobs granted a start / started (allowed ${RATE.burst + RATE.perSecond})`,
      jobline: `${run.fullestSecondGranted} / ${run.fullestSecond}`,
    },
  ];
}

/** The target: the limit held within 10% over the minute (and never exceeded). */
export function rateLimitTargets(run: RateLimitRun): Target[] {
  const share = run.started / run.allowed;
  return [
    { name: `rate limit held within 10% over a minute with ${WORKERS} workers competing`, pass: share <= 1 && share >= 0.9, detail: `${(share * 100).toFixed(1)}% of the limit` },
  ];
}

// `npx tsx bench/limits.ts`: the rate-limit rows alone, on a DynamoDB Local of their own.
if (isMainModule(import.meta.url)) await printRowsAlone(async (endpoint) => rateLimitRows(await measureRateLimit(endpoint)));
