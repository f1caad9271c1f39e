/**
 * The Powertools worker as a Lambda entry point, for the cold-start comparison: the counterpart of the
 * transfer worker's generated entry (infra/function-entries.ts `workerEntry`), so it imports the transfer
 * handler's module only, as jobline's worker bundle does. It reads its settings from the environment at
 * init, as jobline's worker does.
 */
import { transfer } from '../app/jobs/transfer/handler';
import { benchDynamoClient } from './clients';
import { createPowertoolsWorker } from './powertools-worker';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

// As jobline's worker: the environment's job type, where set, must be the one this bundle runs.
const named = process.env.JOBLINE_JOB_TYPE;
if (named && named !== transfer.name) throw new Error(`this worker runs ${transfer.name} jobs, but JOBLINE_JOB_TYPE is ${named}`);

export const handler = createPowertoolsWorker({
  jobType: transfer,
  client: benchDynamoClient(),
  idempotencyTable: env('IDEMPOTENCY_TABLE_NAME'),
  dataTable: env('JOBLINE_TABLE_NAME'),
});
