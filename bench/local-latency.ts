/**
 * Time from submit to SUCCEEDED on an idle local stack (`npm start`'s runtime, embedded emulators):
 * 20 transfers, one at a time, each polled every 10 ms until it is SUCCEEDED. Prints the median
 * (target: under 1 s), p90 and max. Run: npx tsx bench/local-latency.ts
 */
import { startLocalRuntime } from '../local/runtime';

const JOBS = 20;
const WARMUP = 3;

export async function measureSubmitToSucceeded(apiUrl: string, jobs = JOBS): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < jobs + WARMUP; i++) {
    const started = performance.now();
    const response = await fetch(`${apiUrl}/jobs/transfer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: `lat-a${i}`, to: `lat-b${i}`, amount: 1 }),
    });
    const { statusUrl } = (await response.json()) as { statusUrl: string };
    for (;;) {
      const { status } = (await (await fetch(statusUrl)).json()) as { status: string };
      if (status === 'SUCCEEDED') break;
      if (status === 'FAILED') throw new Error('a latency job failed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The first jobs pay the cold starts of the API and worker environments: not an idle stack's latency.
    if (i >= WARMUP) times.push(performance.now() - started);
  }
  return times;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runtime = await startLocalRuntime({ port: 0 });
  try {
    const times = await measureSubmitToSucceeded(runtime.apiUrl);
    console.log(
      `submit → SUCCEEDED on an idle local stack, ${times.length} jobs: median ${percentile(times, 50).toFixed(0)} ms, p90 ${percentile(times, 90).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms (target: median < 1000 ms)`,
    );
  } finally {
    await runtime.stop();
  }
}
