/** jobline's CDK constructs: `new Jobline(this, 'Jobs')`, then `jobs.addJobType(job)` per job type. */
export { Jobline } from './infra/jobline';
export type { AddJobTypeOptions, JoblineAlarmOptions, JoblineApiOptions, JoblineProps, LogLevel } from './infra/jobline';
export { JobWorker } from './infra/job-worker';
export { JobsTable } from './infra/jobs-table';
export type { ApiAuthorization } from './infra/jobs-api';
