/**
 * One job type's queue, dead-letter queue, worker function and alarms, derived from its declaration.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type Alarm, ComparisonOperator, Metric, TreatMissingData, type IAlarmAction, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type IGrantable, type IPrincipal } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../shared/config';
import { MESSAGE_RETENTION_SECONDS, visibilityTimeoutSeconds, type JobKind, type QueueOptions } from '../shared/jobs/define';
import { MAX_MESSAGE_BYTES } from '../shared/jobs/message';
import { LIMIT_KEY_PREFIX, type LimitNumbers } from '../shared/limits/limits';
import { DEFAULT_METRICS_NAMESPACE, METRIC, type MetricName } from '../shared/metrics';
import { JoblineFunction, type FunctionObservability } from './jobline-function';
import { jobRecordsOnly } from './table-access';

/** How long SQS keeps a job's message: the longest it allows, which the retry budget must fit in. */
export const QUEUE_RETENTION = Duration.seconds(MESSAGE_RETENTION_SECONDS);

export interface JobWorkerProps {
  name: string;
  /** The worker's entry file (generated: see function-entries.ts). */
  entry: string;
  kind: JobKind;
  queue: QueueOptions;
  table: ITable;
  logRetention: RetentionDays;
  logLevel: string;
  /** Alarm when the oldest message has waited this long; no alarms when undefined. */
  maxMessageAge?: Duration;
  alarmAction?: IAlarmAction;
  /** Where every alarm's description sends the operator (the stack's jobline dashboard). */
  dashboardUrl?: string;
  faultInjection?: boolean;
  observability?: FunctionObservability;
  /** The job type declares a tenant (tenantKey): its queue is a fair queue, with its metrics and an alarm. */
  tenants?: boolean;
  /**
   * The job type's limits as deployed: its worker keeps their counts in the table (LIMIT# items) and sends
   * a job over a limit back to its own queue, delayed.
   * @default no limits
   */
  limits?: LimitNumbers;
}

/** What each kind of job does to the table, and nothing more. */
const TABLE_ACCESS: Record<JobKind, (table: ITable) => PolicyStatement> = {
  // Claim, complete, release, fail: single-item updates of job records, and nothing else of the table.
  // GetItem: a running job's cancel request is read while its handler runs (shared/worker/cancel-watch.ts).
  leased: (table) => jobRecordsOnly(table, ['dynamodb:GetItem', 'dynamodb:UpdateItem']),
  // One BatchGetItem per batch, then the completion transaction with the handler's own writes (any item).
  transactional: (table) =>
    new PolicyStatement({
      actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
      resources: [table.tableArn],
    }),
};

/**
 * A job type as deployed: its queue, DLQ, worker and alarms. It is an IGrantable, so
 * `bucket.grantRead(jobType)` gives its handler what it needs, and it has the metrics to watch it.
 */
export class JobWorker extends Construct implements IGrantable {
  readonly jobTypeName: string;
  /** The job type declares a tenant: its queue is a fair queue (metricNoisyTenants, metricOldestQuietTenantJobAge). */
  readonly hasTenants: boolean;
  readonly grantPrincipal: IPrincipal;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly worker: JoblineFunction;
  readonly alarms: Alarm[];
  /** The CloudWatch namespace of the job type's EMF metrics (JobsSubmitted, QueueWait...). */
  readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: JobWorkerProps) {
    super(scope, id);
    this.jobTypeName = props.name;
    this.hasTenants = props.tenants ?? false;
    this.metricsNamespace = props.observability?.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    const q = props.queue;
    const fifo = q.fifo
      ? { fifo: true, contentBasedDeduplication: false, deduplicationScope: DeduplicationScope.MESSAGE_GROUP, fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID }
      : {};
    const common = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, maxMessageSizeBytes: MAX_MESSAGE_BYTES, removalPolicy: RemovalPolicy.DESTROY };

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...common,
      ...fifo,
      retentionPeriod: Duration.days(14),
      redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
    });

    this.queue = new Queue(this, 'Queue', {
      ...common,
      ...fifo,
      visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds(q)),
      retentionPeriod: QUEUE_RETENTION,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: q.maxReceiveCount },
      // No other queue may send its dead letters here (they would arrive as job messages).
      redriveAllowPolicy: { redrivePermission: RedrivePermission.DENY_ALL },
    });

    this.worker = new JoblineFunction(this, 'Worker', {
      entry: props.entry,
      description: `jobline worker for ${props.name} jobs`,
      timeout: Duration.seconds(q.timeoutSeconds),
      memorySize: q.memoryMb,
      logRetention: props.logRetention,
      faultInjection: props.faultInjection,
      observability: props.observability,
      environment: {
        [ENV.jobType]: props.name,
        [ENV.tableName]: props.table.tableName,
        [ENV.queueUrl]: this.queue.queueUrl,
        [ENV.deadLetterQueueUrl]: this.deadLetterQueue.queueUrl,
        [ENV.maxReceiveCount]: String(q.maxReceiveCount),
        [ENV.backoffBaseSeconds]: String(q.backoff.baseSeconds),
        [ENV.backoffMaxSeconds]: String(q.backoff.maxSeconds),
        [ENV.workerConcurrency]: String(Math.min(q.batchSize, 10)),
        [ENV.logLevel]: props.logLevel,
        ...(props.limits ? { [ENV.limits]: JSON.stringify(props.limits) } : {}),
      },
    });
    const fn = this.worker.function;
    this.grantPrincipal = this.worker.role;

    // Least privilege: its own queue (what the event source needs, which it grants itself, plus visibility
    // changes for backoff), SendMessage to its DLQ to park poison messages, and the table. With limits, also
    // SendMessage to its own queue (a job over a limit goes back as a delayed copy), the LIMIT# items and,
    // for a leased type, BatchGetItem of job records.
    this.queue.grantConsumeMessages(fn);
    this.worker.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }));
    this.worker.role.addToPrincipalPolicy(TABLE_ACCESS[props.kind](props.table));
    if (props.limits) {
      this.queue.grantSendMessages(fn);
      // The limits' own items only (LIMIT# leading keys): a worker never puts a job record.
      this.worker.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['dynamodb:UpdateItem', 'dynamodb:PutItem'],
          resources: [props.table.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${LIMIT_KEY_PREFIX}*`] } },
        }),
      );
      // One BatchGetItem of the batch's job records first, so that duplicates of finished jobs and messages
      // their records refuse take no rate slot or place (shared/worker/process-batch.ts).
      if (props.kind === 'leased') this.worker.role.addToPrincipalPolicy(jobRecordsOnly(props.table, ['dynamodb:BatchGetItem']));
    }

    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: q.batchSize,
        maxBatchingWindow: q.fifo || q.batchingWindowSeconds === 0 ? undefined : Duration.seconds(q.batchingWindowSeconds),
        maxConcurrency: q.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );

    const maxMessageAge = props.maxMessageAge;
    if (maxMessageAge === undefined) {
      this.alarms = [];
      return;
    }
    this.alarms = [
      this.metricDeadLetters().createAlarm(this, 'DeadLettersAlarm', {
        alarmDescription: this.describeAlarm(
          `${props.name}: jobs failed and their messages are in the DLQ. Read their jobline-reason attribute, fix the cause, then redrive.`,
          props.dashboardUrl,
        ),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      this.metricOldestJobAge().createAlarm(this, 'OldestMessageAlarm', {
        alarmDescription: this.describeAlarm(
          `${props.name}: the oldest job has waited more than ${maxMessageAge.toHumanString()}; the workers are behind or stuck.`,
          props.dashboardUrl,
        ),
        threshold: maxMessageAge.toSeconds(),
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      // A fair queue serves quiet tenants first; when even their oldest job waits this long, capacity is short for everyone.
      ...(props.tenants
        ? [
            this.metricOldestQuietTenantJobAge().createAlarm(this, 'QuietTenantsWaitingAlarm', {
              alarmDescription: this.describeAlarm(
                `${props.name}: a job of a quiet tenant (not one with a backlog) has waited more than ${maxMessageAge.toHumanString()}: fairness cannot help, the workers are short for every tenant; raise maxConcurrency or look at the noisy tenants.`,
                props.dashboardUrl,
              ),
              threshold: maxMessageAge.toSeconds(),
              comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
              evaluationPeriods: 5,
              treatMissingData: TreatMissingData.NOT_BREACHING,
            }),
          ]
        : []),
      this.metricWorkerErrors().createAlarm(this, 'WorkerErrorsAlarm', {
        alarmDescription: this.describeAlarm(`${props.name}: worker invocations failed (crashes or timeouts; job failures are reported per record, not here).`, props.dashboardUrl),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    ];
    if (props.alarmAction) for (const a of this.alarms) a.addAlarmAction(props.alarmAction);
  }

  /** The description of an alarm: what it means and what to do, then where to look. */
  private describeAlarm(text: string, dashboardUrl: string | undefined): string {
    return dashboardUrl ? `${text} Dashboard: ${dashboardUrl}` : text;
  }

  /** Sets an environment variable of the worker (e.g. a bucket name its handler reads). */
  addEnvironment(key: string, value: string): this {
    this.worker.function.addEnvironment(key, value);
    return this;
  }

  /** Jobs failed and parked in the DLQ (its visible messages; Maximum per minute). */
  metricDeadLetters(options: MetricOptions = {}): Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum', ...options });
  }

  /** How long the oldest waiting job has waited, in seconds (Maximum per minute). */
  metricOldestJobAge(options: MetricOptions = {}): Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum', ...options });
  }

  /** Fair queues: tenants (message groups) SQS counts as noisy, holding a large share of the in-flight jobs (Maximum per minute). */
  metricNoisyTenants(options: MetricOptions = {}): Metric {
    return this.queue.metric('ApproximateNumberOfNoisyGroups', { period: Duration.minutes(1), statistic: 'Maximum', ...options });
  }

  /** Fair queues: how long the oldest job of a quiet tenant has waited, in seconds (Maximum per minute). */
  metricOldestQuietTenantJobAge(options: MetricOptions = {}): Metric {
    return this.queue.metric('ApproximateAgeOfOldestMessageInQuietGroups', { period: Duration.minutes(1), statistic: 'Maximum', ...options });
  }

  /** Jobs waiting in the queue (Maximum per minute). */
  metricJobsWaiting(options: MetricOptions = {}): Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum', ...options });
  }

  /** Failed worker invocations: crashes and timeouts, not job failures (Sum per 5 minutes). */
  metricWorkerErrors(options: MetricOptions = {}): Metric {
    return this.worker.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum', ...options });
  }

  /** Worker run time per invocation, in milliseconds (p99 per 5 minutes). */
  metricWorkerDuration(options: MetricOptions = {}): Metric {
    return this.worker.function.metricDuration({ period: Duration.minutes(5), statistic: 'p99', ...options });
  }

  /**
   * One of the job type's own metrics, from the EMF lines its worker and the API write (shared/metrics.ts),
   * with the JobType dimension. Counts sum per minute by default; timings are Milliseconds.
   */
  metric(name: MetricName, options: MetricOptions = {}): Metric {
    return new Metric({
      namespace: this.metricsNamespace,
      metricName: name,
      dimensionsMap: { JobType: this.jobTypeName },
      period: Duration.minutes(1),
      statistic: 'Sum',
      ...options,
    });
  }

  /** Jobs recorded and queued by the API (replays of an Idempotency-Key are metricDuplicatesAbsorbed). */
  metricJobsSubmitted(options: MetricOptions = {}): Metric {
    return this.metric(METRIC.submitted, options);
  }

  metricJobsSucceeded(options: MetricOptions = {}): Metric {
    return this.metric(METRIC.succeeded, options);
  }

  /** Jobs marked FAILED (a permanent error, or the last allowed attempt). */
  metricJobsFailed(options: MetricOptions = {}): Metric {
    return this.metric(METRIC.failed, options);
  }

  /** Failed attempts that are retried with backoff. */
  metricJobsRetried(options: MetricOptions = {}): Metric {
    return this.metric(METRIC.retried, options);
  }

  /** Jobs cancelled before or while they ran (a cancelled running job whose handler finished stays SUCCEEDED). */
  metricJobsCancelled(options: MetricOptions = {}): Metric {
    return this.metric(METRIC.cancelled, options);
  }

  /** Jobs the sweeper sent to their queue again after no progress (a lost message, a worker gone): should stay near zero. */
  metricJobsResent(options: MetricOptions = {}): Metric {
    return this.metric(METRIC.resent, options);
  }

  /** Submits answered with an existing job, and deliveries of jobs already done: effects that did not happen twice. */
  metricDuplicatesAbsorbed(options: MetricOptions = {}): Metric {
    return this.metric(METRIC.duplicatesAbsorbed, options);
  }

  /** From when a job's message could be delivered (after its delay) to its first run. @default p99 per minute */
  metricQueueWait(options: MetricOptions = {}): Metric {
    return this.metric(METRIC.queueWait, { statistic: 'p99', ...options });
  }

  /** A job's run: its handler and its completion write. @default p99 per minute */
  metricRunDuration(options: MetricOptions = {}): Metric {
    return this.metric(METRIC.runDuration, { statistic: 'p99', ...options });
  }

  /** Completion callbacks of this job type the receivers took (2xx), from the callback worker. */
  metricCallbacksDelivered(options: MetricOptions = {}): Metric {
    return this.metric(METRIC.callbacksDelivered, options);
  }

  /** Callbacks parked in the callback DLQ (refused by the receiver or its address, or out of attempts). */
  metricCallbacksParked(options: MetricOptions = {}): Metric {
    return this.metric(METRIC.callbacksParked, options);
  }

  /** From a job's end to its callback's delivery: how late receivers hear of it. @default p99 per minute */
  metricCallbackDelay(options: MetricOptions = {}): Metric {
    return this.metric(METRIC.callbackDelay, { statistic: 'p99', ...options });
  }
}
