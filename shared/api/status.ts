/** GET /jobs/{id}: the job's type, status, attempts, result or error, and timestamps. */
import { isJobId } from '../jobs/job-id';
import type { SubmissionStore } from '../store/submission-store';
import { toJobView } from '../store/job-record';
import { json, problem, type ApiResponse } from './http';

export async function jobStatus(jobId: string | undefined, store: SubmissionStore): Promise<ApiResponse> {
  const job = isJobId(jobId) ? await store.get(jobId) : undefined;
  if (!job) return problem(404, 'unknown_job', `there is no job "${jobId ?? ''}"`);
  return json(200, toJobView(job));
}
