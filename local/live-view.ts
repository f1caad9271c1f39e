/**
 * The live view of `npm start`: per job type, how many jobs were submitted and where they are now
 * (pending, running, succeeded, failed), and how many messages wait in its DLQ. Read from the jobs
 * table and the DLQs, so it shows what a client and an operator would see.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { ENV } from '../shared/config';
import type { LocalRuntime } from './runtime';
import { scanItems } from './scan';

export interface JobTypeCounts {
  type: string;
  submitted: number;
  scheduled: number;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  inDlq: number;
}

/** The job types of the stack, found in their workers' environments. */
export function jobTypesOf(runtime: LocalRuntime): { type: string; queueUrl: string; dlqUrl: string; tableName: string }[] {
  return [...runtime.environments.values()]
    .filter((env) => env[ENV.jobType] && env[ENV.deadLetterQueueUrl])
    .map((env) => ({ type: env[ENV.jobType]!, queueUrl: env[ENV.queueUrl]!, dlqUrl: env[ENV.deadLetterQueueUrl]!, tableName: env[ENV.tableName]! }));
}

export async function countJobs(runtime: LocalRuntime): Promise<JobTypeCounts[]> {
  const types = jobTypesOf(runtime);
  const counts = new Map(types.map((t) => [t.type, { type: t.type, submitted: 0, scheduled: 0, pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0, inDlq: 0 }]));
  for (const tableName of new Set(types.map((t) => t.tableName))) {
    const scan = {
      TableName: tableName,
      FilterExpression: 'begins_with(pk, :job)',
      ProjectionExpression: '#type, #status',
      ExpressionAttributeNames: { '#type': 'type', '#status': 'status' },
      ExpressionAttributeValues: { ':job': { S: 'JOB#' } },
    };
    for await (const item of scanItems(runtime.dynamodb, scan)) {
      const c = counts.get(item.type?.S ?? '');
      if (!c) continue;
      c.submitted++;
      const status = item.status?.S;
      if (status === 'SCHEDULED') c.scheduled++;
      else if (status === 'PENDING') c.pending++;
      else if (status === 'RUNNING') c.running++;
      else if (status === 'SUCCEEDED') c.succeeded++;
      else if (status === 'FAILED') c.failed++;
      else if (status === 'CANCELLED') c.cancelled++;
    }
  }
  await Promise.all(
    types.map(async (t) => {
      const { Attributes } = await runtime.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: t.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      counts.get(t.type)!.inDlq = Number(Attributes?.ApproximateNumberOfMessages ?? 0);
    }),
  );
  return [...counts.values()];
}

export function renderCounts(rows: readonly JobTypeCounts[]): string[] {
  const header = ['job type', 'submitted', 'scheduled', 'pending', 'running', 'succeeded', 'failed', 'cancelled', 'in DLQ'];
  const body = rows.map((r) => [r.type, r.submitted, r.scheduled, r.pending, r.running, r.succeeded, r.failed, r.cancelled, r.inDlq].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...body.map(line)];
}

/** Redraws the counts in place on a terminal; elsewhere prints them when they change. */
export function startLiveView(runtime: LocalRuntime, out: NodeJS.WriteStream = process.stdout, intervalMs = 1000): () => void {
  let drawn = 0;
  let last = '';
  let busy = false;
  const draw = async () => {
    if (busy) return;
    busy = true;
    try {
      const lines = renderCounts(await countJobs(runtime));
      const text = lines.join('\n');
      if (out.isTTY) {
        out.write(`${drawn > 0 ? `\x1b[${drawn}A\x1b[0J` : ''}${text}\n`);
        drawn = lines.length;
      } else if (text !== last) {
        out.write(`${new Date().toISOString()}\n${text}\n`);
      }
      last = text;
    } catch {
      // The view is best effort: a failed scan is simply redrawn on the next tick.
    } finally {
      busy = false;
    }
  };
  void draw();
  // draw catches its own errors and skips a tick while the last one runs.
  const timer = setInterval(() => void draw(), intervalMs);
  return () => clearInterval(timer);
}
