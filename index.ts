/**
 * jobline's runtime API, for job modules and for any code that submits jobs (no aws-cdk-lib here, so a
 * Lambda bundle that imports it stays small). The CDK construct is `jobline/cdk`.
 */
export { defineJob, defineJobType, DEFAULT_QUEUE_OPTIONS } from './shared/jobs/define';
export type { JobContext, JobDeclaration, JobKind, JobType, LeasedJob, QueueOptions, TransactionalJob, TransactionalOutcome } from './shared/jobs/define';
export type { Infer, Schema } from './shared/jobs/zod';
export { CancelledError, PermanentError, TransientError } from './shared/errors';
export * from './shared/client/job-client';
export { signatureHeader, verifySignature, SIGNATURE_HEADER } from './shared/notify/signature';
export { EVENT_SOURCE, detailTypeOf } from './shared/notify/notification';
