/** jobline's CDK constructs: `new Jobline(this, 'Jobs')`, then `jobs.addJobType(job)` per job type. */
export { Jobline } from './infra/jobline';
export type { AddJobTypeOptions, JoblineAlarmOptions, JoblineApiOptions, JoblineProps, LogLevel } from './infra/jobline';
export { JobWorker } from './infra/job-worker';
export { JobNotifier } from './infra/job-notifier';
export type { JoblineCallbackOptions, JoblineNotificationOptions } from './infra/job-notifier';
export { JobsTable } from './infra/jobs-table';
export type { ApiAuthorization } from './infra/jobs-api';
