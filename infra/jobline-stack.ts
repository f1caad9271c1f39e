/**
 * The jobline stack: the jobs table, the HTTP API, and per job type a queue, its DLQ, a worker and alarms.
 * Everything is derived from the job type declarations in shared/jobs.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { jobTypes as allJobTypes } from '../app/jobs';
import { resolveQueueOptions, validateJobType, type JobType, type QueueOptions } from '../shared/jobs/define';
import { JobSweeper } from './job-sweeper';
import { JobWorker, QUEUE_RETENTION } from './job-worker';
import { JobsApi, type ApiAuthorization } from './jobs-api';
import { JobsTable } from './jobs-table';

export interface JoblineStackProps extends StackProps {
  jobTypes?: readonly JobType[];
  /** Per job type, queue options that replace the declared ones for this deployment (e.g. a test stage). */
  queueOverrides?: Readonly<Record<string, Partial<Omit<QueueOptions, 'fifo'>>>>;
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
  tableRemovalPolicy?: RemovalPolicy;
  /** Compile the chaos suite's fault injection into the functions. For test stacks only (test/chaos). */
  faultInjection?: boolean;
}

export class JoblineStack extends Stack {
  readonly table: JobsTable;
  readonly api: JobsApi;
  readonly workers = new Map<string, JobWorker>();
  readonly sweeper: JobSweeper;

  constructor(scope: Construct, id: string, props: JoblineStackProps = {}) {
    super(scope, id, { description: 'jobline: asynchronous jobs on API Gateway, SQS, Lambda and DynamoDB', ...props });
    const logRetention = RetentionDays.ONE_MONTH;
    const logLevel = props.logLevel ?? 'info';
    const alarmAction = props.alarmTopicArn ? new SnsAction(Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)) : undefined;

    const retentionDays = props.retentionDays ?? 30;
    if (!Number.isInteger(retentionDays) || retentionDays < QUEUE_RETENTION.toDays()) {
      throw new Error(`retentionDays must be a whole number of days, at least ${QUEUE_RETENTION.toDays()} (how long a DLQ keeps a message) (given ${retentionDays})`);
    }
    this.table = new JobsTable(this, 'Jobs', { removalPolicy: props.tableRemovalPolicy });
    const queues = new Map<string, IQueue>();
    const swept = new Map<string, { worker: JobWorker; queue: QueueOptions }>();
    for (const type of props.jobTypes ?? allJobTypes) {
      const queue = resolveQueueOptions({ ...type.queue, ...props.queueOverrides?.[type.name], fifo: type.queue.fifo });
      const problems = validateJobType(type.name, queue, type.groupKey !== undefined);
      if (problems.length > 0) throw new Error(`job type "${type.name}": ${problems.join('; ')}`);
      const worker = new JobWorker(this, `JobType-${type.name}`, {
        name: type.name,
        kind: type.kind,
        queue,
        table: this.table.table,
        logRetention,
        logLevel,
        maxMessageAge: props.maxMessageAge ?? Duration.minutes(15),
        alarmAction,
        faultInjection: props.faultInjection,
      });
      this.workers.set(type.name, worker);
      queues.set(type.name, worker.queue);
      swept.set(type.name, { worker, queue });
      new CfnOutput(this, `QueueUrl-${type.name}`, { value: worker.queue.queueUrl, description: `${type.name} job queue` });
      new CfnOutput(this, `DeadLetterQueueUrl-${type.name}`, { value: worker.deadLetterQueue.queueUrl, description: `${type.name} dead-letter queue` });
    }

    this.api = new JobsApi(this, 'Api', {
      table: this.table.table,
      queues,
      authorization: props.authorization ?? 'iam',
      retentionDays,
      sweepAfter: props.sweepAfter ?? Duration.minutes(5),
      logRetention,
      logLevel,
      faultInjection: props.faultInjection,
    });
    this.sweeper = new JobSweeper(this, 'Sweeper', {
      table: this.table.table,
      workers: swept,
      interval: props.sweepInterval ?? Duration.minutes(1),
      grace: props.sweepGrace ?? Duration.minutes(1),
      logRetention,
      logLevel,
      faultInjection: props.faultInjection,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'jobline API base URL' });
    new CfnOutput(this, 'TableName', { value: this.table.table.tableName, description: 'jobs table' });
  }
}
