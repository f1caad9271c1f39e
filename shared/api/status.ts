/** GET /jobs/{id}: the job's type, status, attempts, result or error, and timestamps; only to its owner. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { SubmissionStore } from '../store/submission-store';
import { toJobView } from '../store/job-record';
import { getJob } from '../submission/submit-job';
import { callerOf } from './caller';
import { json, problem, type ApiResponse } from './http';

export async function jobStatus(event: APIGatewayProxyEventV2, jobId: string | undefined, store: SubmissionStore): Promise<ApiResponse> {
  // Another caller's job is answered exactly like a job that does not exist.
  const job = await getJob(store, jobId, callerOf(event));
  if (!job) return problem(404, 'unknown_job', `there is no job "${jobId ?? ''}"`);
  return json(200, toJobView(job));
}
