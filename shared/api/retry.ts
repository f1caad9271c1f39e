/**
 * POST /jobs/{id}/retry: the state machine's explicit `retry` of a FAILED job. It runs again as the next
 * generation; messages of earlier generations (a DLQ redrive) stay dropped.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { isJobId } from '../jobs/job-id';
import { callerOf } from './caller';
import { problem, type ApiResponse } from './http';
import { sendJobMessage } from '../submission/submit-job';
import { accepted, type SubmitDeps } from './submit';

export async function retryJob(event: APIGatewayProxyEventV2, jobId: string | undefined, deps: SubmitDeps): Promise<ApiResponse> {
  if (!isJobId(jobId)) return problem(404, 'unknown_job', `there is no job "${jobId ?? ''}"`);
  const outcome = await deps.store.retry(jobId, callerOf(event), deps.sweepAfterSeconds * 1000);
  if (!outcome.retried) {
    if (!outcome.current) return problem(404, 'unknown_job', `there is no job "${jobId}"`);
    return problem(409, 'not_retryable', `the job is ${outcome.current.status}: only a FAILED job can be retried`, { status: outcome.current.status });
  }
  const job = outcome.retried;
  const queue = deps.queues.get(job.type);
  const log = deps.log.child({ jobId, type: job.type, generation: job.generation });
  // A type no longer deployed: the job stays PENDING for the sweeper to report.
  const queued = queue ? await sendJobMessage(deps, queue, job, log) : false;
  log.info('job retried', { queued });
  return accepted(event, job, { replayed: false, queued });
}
