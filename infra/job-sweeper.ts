/**
 * The sweeper: a function that EventBridge runs every minute. It walks the table's sweep index in time
 * order (shared/sweeper) and sends again the messages of jobs that made no progress, or gives them up
 * (FAILED, message copied to the DLQ). It reaches only job records, its cursors, the job queues and DLQs.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../shared/config';
import { visibilityTimeoutSeconds, type QueueOptions } from '../shared/jobs/define';
import type { SweepConfig } from '../shared/sweeper/config';
import { SWEEP_INDEX } from '../shared/store/job-record';
import { RUNTIME_MODULES } from './function-entries';
import { JoblineFunction, type FunctionObservability } from './jobline-function';
import { jobRecordsOnly } from './table-access';
import { QUEUE_RETENTION, type JobWorker } from './job-worker';

export interface JobSweeperProps {
  table: ITable;
  workers: ReadonlyMap<string, { worker: JobWorker; queue: QueueOptions }>;
  /** How often the sweeper runs. */
  interval: Duration;
  /** Slack added to a job type's stale time (see staleSeconds). */
  grace: Duration;
  logRetention: RetentionDays;
  logLevel: string;
  faultInjection?: boolean;
  /** Where its EMF metrics (JobsResent, and the JobsFailed/JobsCancelled it causes) go. */
  observability?: FunctionObservability;
}

/**
 * A job that made no progress for this long has lost its message: its worker's visibility timeout (a
 * crashed batch comes back after it), the longest backoff, and a grace for the queue to hand it out.
 */
export function staleSeconds(queue: QueueOptions, graceSeconds: number): number {
  return visibilityTimeoutSeconds(queue) + queue.backoff.maxSeconds + graceSeconds;
}

export class JobSweeper extends Construct {
  readonly handler: JoblineFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: JobSweeperProps) {
    super(scope, id);
    const types: SweepConfig = {};
    for (const [name, { worker, queue }] of props.workers) {
      types[name] = {
        queueUrl: worker.queue.queueUrl,
        deadLetterQueueUrl: worker.deadLetterQueue.queueUrl,
        fifo: queue.fifo,
        maxReceiveCount: queue.maxReceiveCount,
        staleSeconds: staleSeconds(queue, props.grace.toSeconds()),
        retentionSeconds: QUEUE_RETENTION.toSeconds(),
      };
    }
    this.handler = new JoblineFunction(this, 'Handler', {
      entry: RUNTIME_MODULES.sweeper,
      description: 'jobline sweeper: sends lost job messages again, gives up jobs that cannot finish',
      timeout: Duration.seconds(60),
      memorySize: 256,
      logRetention: props.logRetention,
      faultInjection: props.faultInjection,
      observability: props.observability,
      environment: { [ENV.tableName]: props.table.tableName, [ENV.sweepTypes]: Stack.of(this).toJsonString(types), [ENV.logLevel]: props.logLevel },
    });
    const role = this.handler.role;
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.table.tableArn}/index/${SWEEP_INDEX}`] }));
    // Job records, and its own cursors (SWEEP#<shard>).
    role.addToPrincipalPolicy(jobRecordsOnly(props.table, ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'], ['SWEEP#']));
    const queueArns = [...props.workers.values()].flatMap(({ worker }) => [worker.queue.queueArn, worker.deadLetterQueue.queueArn]);
    if (queueArns.length > 0) role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: queueArns }));

    this.rule = new Rule(this, 'Schedule', {
      description: 'runs the jobline sweeper',
      schedule: Schedule.rate(props.interval),
      targets: [new LambdaFunction(this.handler.function, { retryAttempts: 0 })],
    });
  }
}
