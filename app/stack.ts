/**
 * The jobline stack: the jobs table, the HTTP API, and per job type a queue, its DLQ, a worker and alarms.
 * Everything is derived from the job type declarations in shared/jobs.
 */
import { CfnOutput, Duration, type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { jobTypes as allJobTypes } from './jobs';
import type { JobType, QueueOptions } from '../shared/jobs/define';
import { type JobWorker, QUEUE_RETENTION } from '../infra/job-worker';
import { Jobline } from '../infra/jobline';
import type { LimitNumbers } from '../shared/limits/limits';
import type { ApiAuthorization } from '../infra/jobs-api';

export interface JoblineStackProps extends StackProps {
  jobTypes?: readonly JobType[];
  /** Per job type, queue options that replace the declared ones for this deployment (e.g. a test stage). */
  queueOverrides?: Readonly<Record<string, Partial<Omit<QueueOptions, 'fifo'>>>>;
  /** Per job type, limit numbers that replace the declared ones for this deployment (the key stays). */
  limitOverrides?: Readonly<Record<string, LimitNumbers>>;
  /** IAM (SigV4) authorization on every route, unless turned off. */
  authorization?: ApiAuthorization;
  /**
   * Days a job record is kept (DynamoDB TTL); also how long an Idempotency-Key is remembered. At least the
   * 14 days a DLQ keeps a message, so a redriven message always finds its job.
   * @default 30
   */
  retentionDays?: number;
  /**
   * How often the sweeper looks for jobs that made no progress (a lost message, a worker that died on its
   * last receive), and how long after a submit it first looks at a job.
   * @default Duration.minutes(1) and Duration.minutes(5)
   */
  sweepInterval?: Duration;
  sweepAfter?: Duration;
  /**
   * A job is stale (its message is sent again) after its worker's visibility timeout, its longest backoff
   * and this grace have passed without progress.
   * @default Duration.minutes(1)
   */
  sweepGrace?: Duration;
  /** An SNS topic every alarm notifies. */
  alarmTopicArn?: string;
  /** Alarm when a queue's oldest job has waited this long. */
  maxMessageAge?: Duration;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Active X-Ray tracing of the API, the workers and the sweeper (Jobline's `tracing`). @default false */
  tracing?: boolean;
  tableRemovalPolicy?: RemovalPolicy;
  /** Compile the chaos suite's fault injection into the functions. For test stacks only (test/chaos). */
  faultInjection?: boolean;
}

export class JoblineStack extends Stack {
  readonly jobs: Jobline;
  readonly workers = new Map<string, JobWorker>();

  constructor(scope: Construct, id: string, props: JoblineStackProps = {}) {
    super(scope, id, { description: 'jobline: asynchronous jobs on API Gateway, SQS, Lambda and DynamoDB', ...props });
    const retentionDays = props.retentionDays ?? 30;
    if (!Number.isInteger(retentionDays) || retentionDays < QUEUE_RETENTION.toDays()) {
      throw new Error(`retentionDays must be a whole number of days, at least ${QUEUE_RETENTION.toDays()} (how long a DLQ keeps a message) (given ${retentionDays})`);
    }
    this.jobs = new Jobline(this, 'Jobs', {
      tableRemovalPolicy: props.tableRemovalPolicy,
      api: { authorization: props.authorization ?? 'iam' },
      retention: Duration.days(retentionDays),
      sweepInterval: props.sweepInterval,
      sweepAfter: props.sweepAfter,
      sweepGrace: props.sweepGrace,
      alarms: {
        maxJobAge: props.maxMessageAge,
        alarmAction: props.alarmTopicArn ? new SnsAction(Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)) : undefined,
      },
      logLevel: props.logLevel,
      tracing: props.tracing,
      faultInjection: props.faultInjection,
    });
    for (const type of props.jobTypes ?? allJobTypes) {
      const worker = this.jobs.addJobType(type, { overrides: props.queueOverrides?.[type.name], limits: props.limitOverrides?.[type.name] });
      this.workers.set(type.name, worker);
      new CfnOutput(this, `QueueUrl-${type.name}`, { value: worker.queue.queueUrl, description: `${type.name} job queue` });
      new CfnOutput(this, `DeadLetterQueueUrl-${type.name}`, { value: worker.deadLetterQueue.queueUrl, description: `${type.name} dead-letter queue` });
    }
    new CfnOutput(this, 'ApiUrl', { value: this.jobs.apiUrl, description: 'jobline API base URL' });
    new CfnOutput(this, 'TableName', { value: this.jobs.table.tableName, description: 'jobs table' });
  }
}
