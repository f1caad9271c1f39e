/**
 * The Powertools worker as a Lambda entry point, for the cold-start comparison: the counterpart of
 * functions/worker.ts. It reads its settings from the environment at init, as jobline's worker does.
 */
import { findJobType } from '../app/jobs';
import { benchDynamoClient } from './clients';
import { createPowertoolsWorker } from './powertools-worker';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

const jobType = findJobType(env('JOBLINE_JOB_TYPE'));
if (!jobType) throw new Error(`unknown job type ${process.env.JOBLINE_JOB_TYPE}`);

export const handler = createPowertoolsWorker({
  jobType,
  client: benchDynamoClient(),
  idempotencyTable: env('IDEMPOTENCY_TABLE_NAME'),
  dataTable: env('JOBLINE_TABLE_NAME'),
});
