/**
 * Completion notifications: the notifier reads the jobs table's stream (FilterCriteria: terminal
 * transitions of job records only) and puts one `jobline` event per terminal state on an EventBridge bus,
 * and, for a job submitted with a callback URL, sends a message to the callback queue; the callback worker
 * POSTs the job's final view there, signed with a per-stack secret from Secrets Manager, retried with
 * backoff, parked in the callback DLQ with the reason when it cannot be delivered.
 *
 * Why a stream and not a write in every worker: a terminal write stays one write (the workers' hot path is
 * unchanged), and the stream is DynamoDB's own at-least-once outbox of every change, whoever made it (a
 * worker, the sweeper, an operator's cancel).
 */
import { Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { ComparisonOperator, TreatMissingData, type Alarm, type IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../shared/config';
import { NOTIFY_ENV } from '../shared/notify/config';
import { NOTIFY_FILTERS } from '../shared/notify/notification';
import { RUNTIME_MODULES } from './function-entries';
import { JoblineFunction, type FunctionObservability } from './jobline-function';

export interface JoblineCallbackOptions {
  /**
   * The secret whose SecretString signs every callback (HMAC-SHA256); receivers verify with it.
   * @default a new Secrets Manager secret, 64 random letters and digits
   */
  readonly secret?: ISecret;
  /** Deliveries of one callback at most (the first included), then it is parked in the callback DLQ. @default 12 */
  readonly maxAttempts?: number;
  /** The delay after the first failed delivery; each next one doubles it. @default Duration.seconds(5) */
  readonly backoffBase?: Duration;
  /** The longest delay between two deliveries. @default Duration.hours(1) */
  readonly backoffMax?: Duration;
  /** How long one delivery may take. @default Duration.seconds(10) */
  readonly timeout?: Duration;
}

export interface JoblineNotificationOptions {
  /**
   * The bus that gets one event per terminal state (source `jobline`, detail-type `Job Succeeded`,
   * `Job Failed`, `Job Cancelled`, detail the job's view).
   * @default a new event bus of this Jobline
   */
  readonly eventBus?: IEventBus;
  /**
   * Completion callbacks (a submit's `Callback-Url`), or `false` for events only.
   * @default callbacks on, with the defaults of JoblineCallbackOptions
   */
  readonly callbacks?: false | JoblineCallbackOptions;
}

export interface JobNotifierProps extends JoblineNotificationOptions {
  table: ITable;
  logRetention: RetentionDays;
  logLevel: string;
  alarmAction?: IAlarmAction;
  alarms: boolean;
  faultInjection?: boolean;
  /** Where the callback worker's EMF metrics go (CallbacksDelivered, ...), and whether both functions are traced. */
  observability?: FunctionObservability;
}

export class JobNotifier extends Construct {
  readonly eventBus: IEventBus;
  readonly notifier: JoblineFunction;
  /** Records of the stream the notifier could not handle for 6 hours (shard and sequence numbers, from Lambda). */
  readonly failureQueue: Queue;
  readonly callbackQueue?: Queue;
  readonly callbackDeadLetterQueue?: Queue;
  readonly callbackWorker?: JoblineFunction;
  readonly callbackSecret?: ISecret;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: JobNotifierProps) {
    super(scope, id);
    const streamArn = props.table.tableStreamArn;
    if (!streamArn) {
      throw new Error("notifications need the jobs table's stream: give the table a NEW_AND_OLD_IMAGES stream (JobsTable has one), or pass notifications: false");
    }
    this.eventBus = props.eventBus ?? new EventBus(this, 'Bus', { description: 'jobline: one event per terminal state of a job' });
    const queueBasics = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, removalPolicy: RemovalPolicy.DESTROY };
    this.failureQueue = new Queue(this, 'NotifierFailures', { ...queueBasics, retentionPeriod: Duration.days(14) });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "it is a dead-letter queue: the notifier's event source (Lambda's on-failure destination) sends it what it gave up on",
    });

    const callbacks = props.callbacks === false ? undefined : (props.callbacks ?? {});
    const environment: Record<string, string> = { [NOTIFY_ENV.eventBus]: this.eventBus.eventBusName, [ENV.logLevel]: props.logLevel };
    if (callbacks) {
      const maxAttempts = callbacks.maxAttempts ?? 12;
      const timeout = callbacks.timeout ?? Duration.seconds(10);
      const functionTimeout = Duration.seconds(timeout.toSeconds() + 20);
      this.callbackDeadLetterQueue = new Queue(this, 'CallbackDeadLetterQueue', { ...queueBasics, retentionPeriod: Duration.days(14) });
      this.callbackQueue = new Queue(this, 'CallbackQueue', {
        ...queueBasics,
        retentionPeriod: Duration.days(14),
        visibilityTimeout: Duration.seconds(functionTimeout.toSeconds() * 6),
        // The worker parks a callback at its last attempt, with the reason; SQS's redrive catches what a crash left.
        deadLetterQueue: { queue: this.callbackDeadLetterQueue, maxReceiveCount: maxAttempts + 2 },
      });
      this.callbackSecret =
        callbacks.secret ??
        new Secret(this, 'CallbackSecret', {
          description: 'jobline: signs completion callbacks (Jobline-Signature: HMAC-SHA256); receivers verify with it',
          generateSecretString: { passwordLength: 64, excludePunctuation: true },
          removalPolicy: RemovalPolicy.RETAIN,
        });
      if (!callbacks.secret) {
        Validations.of(this.callbackSecret).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason:
            'a signing key shared with callback receivers: rotating it means receivers accept two keys for a while, an operator step (docs/callbacks-and-events.md), not an automatic rotation',
        });
      }
      this.callbackWorker = new JoblineFunction(this, 'CallbackWorker', {
        entry: RUNTIME_MODULES.callback,
        description: 'jobline callback worker: POSTs each finished job, signed, to its callback URL',
        timeout: functionTimeout,
        memorySize: 256,
        logRetention: props.logRetention,
        faultInjection: props.faultInjection,
        observability: props.observability,
        environment: {
          [NOTIFY_ENV.callbackQueueUrl]: this.callbackQueue.queueUrl,
          [NOTIFY_ENV.callbackDeadLetterQueueUrl]: this.callbackDeadLetterQueue.queueUrl,
          [NOTIFY_ENV.callbackSecret]: this.callbackSecret.secretArn,
          [NOTIFY_ENV.callbackMaxAttempts]: String(maxAttempts),
          [NOTIFY_ENV.callbackBackoffBaseSeconds]: String((callbacks.backoffBase ?? Duration.seconds(5)).toSeconds()),
          [NOTIFY_ENV.callbackBackoffMaxSeconds]: String((callbacks.backoffMax ?? Duration.hours(1)).toSeconds()),
          [NOTIFY_ENV.callbackTimeoutSeconds]: String(timeout.toSeconds()),
          [ENV.logLevel]: props.logLevel,
        },
      });
      // Its queue (the event source's grant includes ChangeMessageVisibility for the backoff), its DLQ, the secret.
      this.callbackWorker.function.addEventSource(new SqsEventSource(this.callbackQueue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 10 }));
      this.callbackWorker.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.callbackDeadLetterQueue.queueArn] }));
      this.callbackSecret.grantRead(this.callbackWorker.role);
      environment[NOTIFY_ENV.callbackQueueUrl] = this.callbackQueue.queueUrl;
    }

    this.notifier = new JoblineFunction(this, 'Notifier', {
      entry: RUNTIME_MODULES.notifier,
      description: 'jobline notifier: an EventBridge event, and a callback for jobs that asked, per terminal state',
      timeout: Duration.seconds(30),
      memorySize: 256,
      logRetention: props.logRetention,
      faultInjection: props.faultInjection,
      observability: props.observability,
      environment,
    });
    this.notifier.function.addEventSourceMapping('Stream', {
      eventSourceArn: streamArn,
      // Records written before the mapping existed (up to the stream's 24 hours) are announced too.
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: 10_000,
      maxRecordAge: Duration.hours(6),
      onFailure: new SqsDlq(this.failureQueue),
      filters: NOTIFY_FILTERS.map((pattern) => ({ pattern: JSON.stringify(pattern) })),
    });
    // The stream read, on this stream only (grantStreamRead would add dynamodb:ListStreams on "*").
    const streams = `${props.table.tableArn}/stream/*`;
    this.notifier.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], resources: [streamArn] }),
    );
    this.notifier.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: [streams] }));
    Validations.of(this.notifier.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.table.node.defaultChild as CfnElement)}.Arn>/stream/*]`,
      reason: 'dynamodb:ListStreams on the streams of the jobs table only (as DynamoDB documents for a Lambda stream reader); the records are read from its one stream',
    });
    this.eventBus.grantPutEventsTo(this.notifier.role);
    this.callbackQueue?.grantSendMessages(this.notifier.role);

    if (props.alarms) {
      const notGood = { threshold: 0, comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD, evaluationPeriods: 1, treatMissingData: TreatMissingData.NOT_BREACHING };
      this.alarms.push(
        this.failureQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }).createAlarm(this, 'NotifierFailuresAlarm', {
          ...notGood,
          alarmDescription:
            'jobline notifier: stream records could not be announced for 6 hours (EventBridge or SQS unavailable); the message names the shard and sequence numbers.',
        }),
      );
      if (this.callbackDeadLetterQueue) {
        this.alarms.push(
          this.callbackDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }).createAlarm(this, 'CallbackDeadLettersAlarm', {
            ...notGood,
            alarmDescription: 'jobline callbacks could not be delivered (refused or out of attempts); read their jobline-reason attribute.',
          }),
        );
      }
      if (props.alarmAction) for (const alarm of this.alarms) alarm.addAlarmAction(props.alarmAction);
    }
  }
}
