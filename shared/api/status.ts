/** GET /jobs/{id}: the job's type, status, attempts, result or error, and timestamps. */
import { isJobId } from '../jobs/job-id';
import type { JobStore } from '../store/job-store';
import { toJobView } from '../store/job-record';
import { json, problem, type ApiResponse } from './http';

export async function jobStatus(jobId: string | undefined, store: JobStore): Promise<ApiResponse> {
  const job = isJobId(jobId) ? await store.get(jobId) : undefined;
  if (!job) return problem(404, 'unknown_job', `there is no job "${jobId ?? ''}"`);
  return json(200, toJobView(job));
}
