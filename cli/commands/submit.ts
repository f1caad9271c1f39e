/** `jobline submit <type> <payload|@file|->`: POST /jobs/{type}, with --key, --delay or --run-at. */
import { readFileSync } from 'node:fs';
import { ApiError } from '../../shared/client/api-client';
import { CliError, EXIT, notFound, usageError } from '../exit';
import { note, paintStatus, printJson } from '../output';
import { apiOf, type Target } from '../target';
import { watchJob } from './jobs';

export interface SubmitOptions {
  key?: string;
  delay?: number;
  runAt?: string;
  wait?: boolean;
  json?: boolean;
}

function readPayload(argument: string): unknown {
  let text = argument;
  let from = 'the payload argument';
  if (argument === '-') {
    text = readFileSync(0, 'utf8');
    from = 'standard input';
  } else if (argument.startsWith('@')) {
    from = argument.slice(1);
    if (from === '') throw usageError('@ needs a file name: @payload.json');
    try {
      text = readFileSync(from, 'utf8');
    } catch (error) {
      throw usageError(`cannot read ${from}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // Only text typed on the command line can have lost its quotes to the shell.
    const hint = from === 'the payload argument' ? 'quote it for the shell: \'{"key":"value"}\', or pass @file.json' : undefined;
    throw usageError(`${from} is not JSON: ${error instanceof Error ? error.message : String(error)}`, hint);
  }
}

export async function submit(target: Target, type: string, payloadArgument: string, options: SubmitOptions): Promise<number | void> {
  if (options.delay !== undefined && options.runAt !== undefined) throw usageError('give --delay or --run-at, not both');
  if (options.runAt !== undefined && Number.isNaN(Date.parse(options.runAt))) throw usageError(`--run-at ${options.runAt} is not an ISO 8601 time`, 'e.g. 2026-12-24T18:00:00Z');
  const payload = readPayload(payloadArgument);
  const api = apiOf(target);
  const answer = await api
    .submit(type, payload, {
      ...(options.key !== undefined ? { idempotencyKey: options.key } : {}),
      ...(options.delay !== undefined ? { delaySeconds: options.delay } : {}),
      ...(options.runAt !== undefined ? { runAt: options.runAt } : {}),
    })
    .catch((error: unknown) => {
      if (error instanceof ApiError && error.code === 'unknown_job_type') {
        const known = (error.details as { jobTypes?: string[] } | undefined)?.jobTypes;
        throw notFound(error.message, known ? `job types: ${known.join(', ')}` : undefined);
      }
      if (error instanceof ApiError && error.status < 500) {
        const issues = (error.details as { issues?: { path: string; message: string }[] } | undefined)?.issues;
        throw new CliError(`refused (${error.status} ${error.code}): ${error.message}`, EXIT.failed, issues?.map((i) => `${i.path || '(payload)'}: ${i.message}`).join('\n  '));
      }
      throw error;
    });
  const ignoredDelay = delayIgnored(options, answer, Date.now());
  if (options.json) printJson(answer);
  else {
    console.log(
      `${answer.replayed ? 'already submitted (same Idempotency-Key): ' : 'submitted '}${answer.type} job ${answer.jobId}: ${paintStatus(answer.status)}${answer.runAt !== undefined ? `, runs at ${String(answer.runAt)}` : ''}`,
    );
    if (answer.queued === false) note('recorded; its message will be sent by the sweeper (do not submit it again)');
    if (!options.wait) note(`follow it: jobline jobs watch ${answer.jobId}`);
  }
  if (ignoredDelay) {
    note(`jobline: the API ignored ${options.delay !== undefined ? '--delay' : '--run-at'}: it predates delayed jobs, so job ${answer.jobId} runs now`);
    return EXIT.failed;
  }
  if (options.wait) return watchJob(target, answer.jobId, { interval: 0.5, ...(options.json ? { json: true } : {}) });
}

/**
 * True when a delay was asked for and the answer shows none: an API that predates delays ignores the
 * parameter and runs the job now, and the CLI says so rather than pretend. A --run-at that has passed (or is
 * within a few seconds, for clocks that differ) runs now by design: the API answers it without a runAt.
 */
export function delayIgnored(options: { delay?: number; runAt?: string }, answer: { status: string; runAt?: unknown }, now: number): boolean {
  const asked = (options.delay !== undefined && options.delay > 0) || (options.runAt !== undefined && Date.parse(options.runAt) > now + 5_000);
  return asked && answer.status === 'PENDING' && answer.runAt === undefined;
}
