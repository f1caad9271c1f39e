/**
 * `jobline dlq list|peek|redrive|purge`: the dead-letter queues. What each does to the queue is
 * cli/dlq-queue.ts (the dashboard runs the same); this prints it, confirms what cannot be undone, and
 * shows a progress bar while a redrive or purge runs.
 */
import { confirm } from '../confirm';
import { dlqDepth, dlqDepths, peekDlq, purgeDlq, redriveDlq } from '../dlq-queue';
import { EXIT } from '../exit';
import { colors, note, printJson, table } from '../output';
import { progressBar } from '../progress';
import { apiOf, jobTypeOf, type Target } from '../target';

export async function list(target: Target, options: { json?: boolean }): Promise<void> {
  const depths = await dlqDepths(target);
  if (options.json) return printJson({ dlqs: depths });
  console.log(
    table(depths, [
      { header: 'JOB TYPE', value: (d) => d.type },
      { header: 'MESSAGES', value: (d) => (d.messages > 0 ? colors.red(String(d.messages)) : '0'), align: 'right' },
      { header: 'DLQ', value: (d) => d.dlqUrl },
    ]),
  );
  const parked = depths.filter((d) => d.messages > 0);
  if (parked.length > 0) note(`see why: jobline dlq peek ${parked[0]!.type}`);
}

export interface PeekOptions {
  limit: number;
  json?: boolean;
}

export interface ConfirmedOptions {
  yes?: boolean;
  json?: boolean;
}

export async function peek(target: Target, type: string, options: PeekOptions): Promise<void> {
  const { dlqUrl, messages, warning } = await peekDlq(target, type, options.limit);
  if (warning) note(colors.yellow(`note: ${warning}`));
  if (options.json) return printJson({ type, dlqUrl, messages });
  if (messages.length === 0) {
    note(`the ${type} DLQ is empty`);
    return;
  }
  console.log(
    table(messages, [
      { header: 'JOB ID', value: (m) => m.jobId },
      { header: 'REASON', value: (m) => m.reason ?? m.malformed },
      { header: 'RECEIVES', value: (m) => m.receives, align: 'right' },
      { header: 'GEN', value: (m) => m.generation, align: 'right' },
      { header: 'PARKED', value: (m) => m.sentAt },
      { header: 'BY', value: (m) => m.source },
    ]),
  );
  if (messages.length === options.limit) note(`showing the first ${options.limit}: --limit shows more`);
  note(`re-run their jobs once the cause is fixed: jobline dlq redrive ${type}`);
}

export async function redrive(target: Target, type: string, options: ConfirmedOptions): Promise<number> {
  const { dlqUrl } = jobTypeOf(target, type);
  apiOf(target); // a stack deployed without an API cannot retry: said before anything is counted or asked
  const { messages: depth } = await dlqDepth(await target.sqs(), { type, dlqUrl });
  if (depth === 0) {
    if (options.json) printJson({ type, retried: 0, deleted: 0, kept: 0, messages: [] });
    else note(`the ${type} DLQ is empty: nothing to redrive`);
    return EXIT.ok;
  }
  await confirm(`redrive about ${depth} message(s) of the ${type} DLQ: retry each FAILED or CANCELLED job and delete its message`, options);

  const bar = progressBar(`redrive ${type}`, depth);
  const summary = await redriveDlq(target, type, depth, ({ done, total, last }) => {
    bar.total(total);
    bar.update(done, last.jobId);
  }).finally(() => bar.stop());
  if (options.json) printJson(summary);
  else {
    console.log(`redrive ${type}: ${summary.retried} job(s) retried, ${summary.deleted} stale message(s) deleted, ${summary.kept} message(s) left in the DLQ`);
    const left = summary.messages.filter((o) => o.action === 'kept');
    if (left.length > 0) {
      console.log(
        table(left, [
          { header: 'MESSAGE', value: (o) => o.messageId },
          { header: 'JOB ID', value: (o) => o.jobId },
          { header: 'LEFT BECAUSE', value: (o) => o.why },
        ]),
      );
    }
    const retried = summary.messages.filter((o) => o.action === 'retried');
    if (retried.length === 1) note(`follow it: jobline jobs watch ${retried[0]!.jobId}`);
    else if (retried.length > 1) note(`follow them: jobline jobs list --type ${type}`);
  }
  return summary.kept > 0 ? EXIT.failed : EXIT.ok;
}

/** Receives and deletes every message (cli/dlq-queue.ts purgeDlq says why not PurgeQueue), after a confirmation. */
export async function purge(target: Target, type: string, options: ConfirmedOptions): Promise<void> {
  const { dlqUrl } = jobTypeOf(target, type);
  const { messages } = await dlqDepth(await target.sqs(), { type, dlqUrl });
  await confirm(`delete all ${messages} message(s) of the ${type} DLQ? This cannot be undone`, options);
  const bar = progressBar(`purge ${type}`, messages);
  const purged = await purgeDlq(target, type, (done) => {
    if (done > messages) bar.total(done);
    bar.update(done);
  }).finally(() => bar.stop());
  if (options.json) return printJson({ type, dlqUrl, purged });
  console.log(`purged the ${type} DLQ: ${purged} message(s) deleted`);
}
