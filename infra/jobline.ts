/**
 * Jobline: asynchronous jobs in your CDK app. One table of job records, an HTTP API to submit and follow
 * jobs (optional), a sweeper, and per job type a queue, a DLQ, a worker bundled from that type's handler
 * alone, and alarms.
 *
 *   const jobs = new Jobline(this, 'Jobs');
 *   const resize = jobs.addJobType(resizeImage);
 *   bucket.grantRead(resize);            // a job type is an IGrantable: grants reach its worker
 *   jobs.grantSubmit(producerFunction);  // JobClient from another function, no HTTP
 *
 * The API and the sweeper serve every job type, so they are built once all are known: when the app is
 * synthesized (an aspect, before any read-only aspect such as cdk-nag runs).
 */
import { AspectPriority, Aspects, CfnOutput, Duration, Fn, Lazy, Token, type RemovalPolicy } from 'aws-cdk-lib';
import type { Dashboard, IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct, type IConstruct } from 'constructs';
import { ENV, OUTPUT_MARKER, queueUrlVariable } from '../shared/config';
import { DEFAULT_METRICS_NAMESPACE } from '../shared/metrics';
import { LIST_INDEX } from '../shared/store/job-record';
import { limitNumbers, limitProblems, type LimitNumbers } from '../shared/limits/limits';
import { isJobType, resolveQueueOptions, validateJobType, type JobType, type QueueOptions } from '../shared/jobs/define';
import { apiEntry, workerEntry } from './function-entries';
import type { FunctionObservability } from './jobline-function';
import { JobsDashboard, dashboardNameFor, dashboardUrl } from './jobs-dashboard';
import { JobNotifier, type JoblineNotificationOptions } from './job-notifier';
import { JobSweeper } from './job-sweeper';
import { JobWorker, QUEUE_RETENTION } from './job-worker';
import { JobsApi, type ApiAuthorization } from './jobs-api';
import { JobsTable } from './jobs-table';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface JoblineApiOptions {
  /**
   * Who may call the API: `iam` (SigV4-signed requests; a caller's jobs and keys are its IAM principal's)
   * or `none` (anyone who can reach it; every caller is the one caller `public`).
   * @default 'iam'
   */
  readonly authorization?: ApiAuthorization;
}

export interface JoblineAlarmOptions {
  /** Where every alarm sends its notifications. @default no action (the alarms only show in CloudWatch) */
  readonly alarmAction?: IAlarmAction;
  /** Alarm when a job type's oldest waiting job has waited this long. @default Duration.minutes(15) */
  readonly maxJobAge?: Duration;
}

export interface JoblineProps {
  /**
   * The table for job records. It needs the partition key `pk` (string), TTL on `expiresAt` and the `sweep` and `list`
   * index that JobsTable declares; job types may keep their own items in it (keys not starting with JOB#).
   * @default a new table (JobsTable)
   */
  readonly table?: ITable;
  /**
   * What happens to the table jobline creates when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * The HTTP API (POST /jobs/{type}, GET /jobs/{id}, GET /jobs, POST /jobs/{id}/cancel|retry, POST /bulk/cancel|retry), or `false` for queue-only use
   * (jobs submitted with JobClient).
   * @default an HTTP API with IAM authorization
   */
  readonly api?: false | JoblineApiOptions;
  /**
   * How long a job record, and so an Idempotency-Key, is kept (DynamoDB TTL): whole days, at least the 14
   * days a DLQ keeps a message, so that a redriven message always finds its job.
   * @default Duration.days(30)
   */
  readonly retention?: Duration;
  /** How often the sweeper looks for jobs that made no progress. @default Duration.minutes(1) */
  readonly sweepInterval?: Duration;
  /** How long after a submit the sweeper first looks at a job. @default Duration.minutes(5) */
  readonly sweepAfter?: Duration;
  /**
   * A job is stale (its message is sent again) after its worker's visibility timeout, its longest backoff
   * and this grace have passed without progress.
   * @default Duration.minutes(1)
   */
  readonly sweepGrace?: Duration;
  /**
   * Alarms per job type (jobs in the DLQ, oldest job age, worker errors), or `false` for none.
   * @default alarms without an action
   */
  readonly alarms?: false | JoblineAlarmOptions;
  /** The functions' log level. @default 'info' */
  readonly logLevel?: LogLevel;
  /** How long the functions' logs are kept. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * An EventBridge event per terminal state of a job, and the signed completion callbacks of jobs submitted
   * with a callback URL (docs/callbacks-and-events.md), or `false` for neither (the table needs no stream then).
   * @default events on a new `jobline` bus, callbacks on
   */
  readonly notifications?: false | JoblineNotificationOptions;
  /**
   * A CloudWatch dashboard with a row per job type (jobs, queue wait, run duration, queue and DLQ); every
   * alarm's description links to it.
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * The CloudWatch namespace of the API's, workers', sweeper's and callback worker's metrics (JobsSubmitted,
   * JobsSucceeded, JobsFailed, JobsRetried, JobsCancelled, DuplicatesAbsorbed, JobsResent, QueueWait, RunDuration,
   * CallbacksDelivered, CallbacksRetried, CallbacksParked, CallbackDelay; dimension JobType), written as EMF log lines.
   * @default 'Jobline'
   */
  readonly metricsNamespace?: string;
  /**
   * Active X-Ray tracing of the API, the workers, the sweeper and the notification functions: a job's trace goes from its submit through SQS (the
   * message's AWSTraceHeader) to its worker's run.
   * @default false
   */
  readonly tracing?: boolean;
  /** Compile the chaos suite's fault injection into the functions. For test stacks only. @default false */
  readonly faultInjection?: boolean;
}

export interface AddJobTypeOptions {
  /**
   * The module that exports the job type (its worker is bundled from it alone).
   * @default the module that called defineJob
   */
  readonly entry?: string;
  /**
   * Queue options that replace the declared ones in this deployment (e.g. a test stage's smaller batches).
   * @default the declared options
   */
  readonly overrides?: Partial<Omit<QueueOptions, 'fifo'>>;
  /**
   * Limit numbers that replace the declared ones in this deployment (e.g. a partner's quota in production);
   * the key stays the declared one. Only for a job type that declares limits.
   * @default the declared limits
   */
  readonly limits?: LimitNumbers;
}

interface AddedJobType {
  job: JobType;
  queue: QueueOptions;
  worker: JobWorker;
}

const DEFAULT_RETENTION = Duration.days(30);

export class Jobline extends Construct {
  /** The table of job records. */
  readonly table: ITable;
  private readonly props: JoblineProps;
  private readonly added = new Map<string, AddedJobType>();
  private readonly submitters: IGrantable[] = [];
  private readonly retentionDays: number;
  private builtApi?: JobsApi;
  private builtSweeper?: JobSweeper;
  /** Events and callbacks of terminal states (undefined with `notifications: false`). */
  readonly notifier?: JobNotifier;
  private finished = false;
  /** The dashboard's name, fixed before any alarm is built (each links to it); undefined with `dashboard: false`. */
  private readonly dashboardName?: string;
  private builtDashboard?: JobsDashboard;
  private readonly observability: FunctionObservability;

  constructor(scope: Construct, id: string, props: JoblineProps = {}) {
    super(scope, id);
    this.props = props;
    const retention = props.retention ?? DEFAULT_RETENTION;
    // A token (e.g. a CfnParameter) is passed on as it is: CDK converts it only when given in days.
    this.retentionDays = retention.isUnresolved() ? retention.toDays() : retention.toDays({ integral: false });
    if (!retention.isUnresolved() && (!Number.isInteger(this.retentionDays) || this.retentionDays < QUEUE_RETENTION.toDays())) {
      throw new Error(`retention must be whole days, at least ${QUEUE_RETENTION.toDays()} (how long a DLQ keeps a message) (given ${retention.toHumanString()})`);
    }
    // EventBridge runs a schedule at most once a minute; sweepAfter and sweepGrace are delays, and may be short (tests).
    const interval = props.sweepInterval;
    if (interval && !interval.isUnresolved() && interval.toSeconds() < 60) {
      throw new Error(`sweepInterval must be at least 1 minute, EventBridge's shortest rate (given ${interval.toHumanString()})`);
    }
    this.observability = { metricsNamespace: props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE, tracing: props.tracing ?? false };
    if (!/^[^:$\s][^:]{0,254}$/.test(this.observability.metricsNamespace) && !Token.isUnresolved(this.observability.metricsNamespace)) {
      throw new Error(`metricsNamespace must be 1-255 characters without ':' and not start with '$' or a space (given ${JSON.stringify(this.observability.metricsNamespace)})`);
    }
    if (props.dashboard !== false) this.dashboardName = dashboardNameFor(this);
    this.table = props.table ?? new JobsTable(this, 'Table', { removalPolicy: props.tableRemovalPolicy }).table;
    if (props.notifications !== false) {
      const alarms = props.alarms === false ? undefined : (props.alarms ?? {});
      this.notifier = new JobNotifier(this, 'Notifications', {
        ...props.notifications,
        table: this.table,
        logRetention: this.logRetention,
        logLevel: this.logLevel,
        alarms: alarms !== undefined,
        alarmAction: alarms?.alarmAction,
        faultInjection: props.faultInjection,
        observability: this.observability,
      });
    }

    // The API and the sweeper serve every job type: build them once all were added, before read-only
    // aspects (cdk-nag) look at the tree.
    Aspects.of(this).add({ visit: (node: IConstruct) => (node === this ? this.finish() : undefined) }, { priority: AspectPriority.MUTATING });
  }

  /** The job types added so far, by name. */
  get jobTypes(): ReadonlyMap<string, JobWorker> {
    return new Map([...this.added].map(([name, added]) => [name, added.worker]));
  }

  /** The HTTP API (built at synthesis; undefined before, and with `api: false`). */
  get api(): JobsApi | undefined {
    return this.builtApi;
  }

  /** The bus that gets a `jobline` event per terminal state (subscribe with a Rule on it). */
  get eventBus(): IEventBus {
    if (!this.notifier) throw new Error('this Jobline has no notifications (notifications: false)');
    return this.notifier.eventBus;
  }

  /** The CloudWatch dashboard (built at synthesis; undefined before, and with `dashboard: false`). */
  get dashboard(): Dashboard | undefined {
    return this.builtDashboard?.dashboard;
  }

  /** The sweeper (built at synthesis). */
  get sweeper(): JobSweeper | undefined {
    return this.builtSweeper;
  }

  /** The API's base URL (a token, resolved at deploy time), e.g. for a CfnOutput. */
  get apiUrl(): string {
    if (this.props.api === false) throw new Error('this Jobline has no API (api: false)');
    return Lazy.string({ produce: () => this.finish().builtApi!.url });
  }

  /**
   * Adds a job type (what `defineJob` returned): its queue, DLQ, worker and alarms. The result is an
   * IGrantable (grant it what the handler uses) with the job type's metrics.
   */
  addJobType(job: JobType, options: AddJobTypeOptions = {}): JobWorker {
    if (!isJobType(job)) throw new Error(`addJobType takes what defineJob returns (given ${describe(job)})`);
    if (this.finished) throw new Error(`job type "${job.name}" was added after the app was synthesized; add every job type before synth`);
    if (this.added.has(job.name)) throw new Error(`job type "${job.name}" was already added to ${this.node.path}`);
    const entry = options.entry ?? job.definedIn;
    if (!entry) throw new Error(`job type "${job.name}": the module that defines it is unknown; pass { entry: '<file that exports it>' }`);

    const queue = resolveQueueOptions({ ...job.queue, ...options.overrides, backoff: { ...job.queue.backoff, ...options.overrides?.backoff }, fifo: job.queue.fifo });
    if (options.limits && !job.limits) throw new Error(`job type "${job.name}": limits can only replace the numbers of limits the job type declares (it declares none)`);
    const limits = job.limits ? { ...job.limits, ...options.limits } : undefined;
    const problems = [...validateJobType(job.name, queue, job.groupKey !== undefined, job.tenantKey !== undefined), ...limitProblems(limits, queue.fifo)];
    if (problems.length > 0) throw new Error(`job type "${job.name}": ${problems.join('; ')}`);

    const alarms = this.props.alarms === false ? undefined : (this.props.alarms ?? {});
    const worker = new JobWorker(this, `JobType-${job.name}`, {
      name: job.name,
      entry: workerEntry(job.name, entry),
      kind: job.kind,
      queue,
      table: this.table,
      logRetention: this.logRetention,
      logLevel: this.logLevel,
      maxMessageAge: alarms ? (alarms.maxJobAge ?? Duration.minutes(15)) : undefined,
      alarmAction: alarms?.alarmAction,
      ...(this.dashboardName ? { dashboardUrl: dashboardUrl(this.dashboardName) } : {}),
      faultInjection: this.props.faultInjection,
      observability: this.observability,
      tenants: job.tenantKey !== undefined,
      ...(limits ? { limits: limitNumbers(limits) } : {}),
    });
    this.added.set(job.name, { job, queue, worker });
    for (const grantee of this.submitters) this.grantSubmitTo(grantee, worker);
    return worker;
  }

  /**
   * Lets `grantee` use JobClient for jobs of every job type (now and later added) without HTTP: submit,
   * read, list, cancel and retry its own jobs (create, read and update job records, query the list index),
   * send to the job queues. A Lambda function also gets the environment JobClient reads (table name, queue
   * URLs).
   */
  grantSubmit(grantee: IGrantable): Grant {
    this.submitters.push(grantee);
    const grant = Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['JOB#*'] } },
    });
    Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.table.tableArn}/index/${LIST_INDEX}`] });
    withEnvironment(grantee, ENV.tableName, this.table.tableName);
    withEnvironment(grantee, ENV.retentionDays, String(this.retentionDays));
    withEnvironment(grantee, ENV.sweepAfterSeconds, String((this.props.sweepAfter ?? Duration.minutes(5)).toSeconds()));
    for (const { worker } of this.added.values()) this.grantSubmitTo(grantee, worker);
    return grant;
  }

  private grantSubmitTo(grantee: IGrantable, worker: JobWorker): void {
    worker.queue.grantSendMessages(grantee);
    withEnvironment(grantee, queueUrlVariable(worker.jobTypeName), worker.queue.queueUrl);
  }

  private get logLevel(): LogLevel {
    return this.props.logLevel ?? 'info';
  }

  private get logRetention(): RetentionDays {
    return this.props.logRetention ?? RetentionDays.ONE_MONTH;
  }

  /** Builds the API and the sweeper for the job types added (once). */
  private finish(): this {
    if (this.finished) return this;
    this.finished = true;
    const types = [...this.added.values()];
    if (this.props.api !== false) {
      const declarations = types.map(({ job }) => {
        const module = job.declaration.declaredIn ?? job.definedIn;
        if (!module) throw new Error(`job type "${job.name}": the module that declares it is unknown`);
        return { name: job.name, module };
      });
      this.builtApi = new JobsApi(this, 'Api', {
        entry: apiEntry(declarations),
        table: this.table,
        queues: new Map(types.map(({ job, worker }) => [job.name, worker.queue])),
        authorization: this.props.api?.authorization ?? 'iam',
        retentionDays: this.retentionDays,
        sweepAfter: this.props.sweepAfter ?? Duration.minutes(5),
        logRetention: this.logRetention,
        logLevel: this.logLevel,
        faultInjection: this.props.faultInjection,
        observability: this.observability,
      });
    }
    if (this.dashboardName)
      this.builtDashboard = new JobsDashboard(this, 'Dashboard', {
        dashboardName: this.dashboardName,
        workers: types.map(({ worker }) => worker),
        callbacks: this.notifier?.callbackQueue !== undefined,
      });
    // What the operator's CLI reads with `jobline ... --stack NAME` (cli/stack-outputs.ts): each output says
    // what it is in its description, `jobline:<what>[:<job type>]`, whatever its logical id.
    if (this.builtApi) new CfnOutput(this, 'JoblineApiUrl', { value: this.builtApi.url, description: `${OUTPUT_MARKER}api (jobline's HTTP API)` });
    new CfnOutput(this, 'JoblineTableName', { value: this.table.tableName, description: `${OUTPUT_MARKER}table (the job records)` });
    for (const { job, worker } of types) {
      new CfnOutput(this, `JoblineQueues-${job.name}`, {
        value: Fn.join(' ', [worker.queue.queueUrl, worker.deadLetterQueue.queueUrl]),
        description: `${OUTPUT_MARKER}queues:${job.name} (the ${job.name} job type's queue URL and DLQ URL)`,
      });
    }
    this.builtSweeper = new JobSweeper(this, 'Sweeper', {
      table: this.table,
      workers: new Map(types.map(({ job, worker, queue }) => [job.name, { worker, queue }])),
      interval: this.props.sweepInterval ?? Duration.minutes(1),
      grace: this.props.sweepGrace ?? Duration.minutes(1),
      logRetention: this.logRetention,
      logLevel: this.logLevel,
      faultInjection: this.props.faultInjection,
      observability: this.observability,
    });
    return this;
  }
}

/** Adds an environment variable when the grantee is a Lambda function (duck-typed: any aws-cdk-lib copy). */
function withEnvironment(grantee: IGrantable, name: string, value: string): void {
  const fn = grantee as Partial<{ addEnvironment(key: string, value: string): unknown }>;
  if (typeof fn.addEnvironment === 'function') fn.addEnvironment(name, value);
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  const name = (value as { name?: unknown }).name;
  return typeof name === 'string' ? `an object named "${name}" without a handler: use defineJob, not defineJobType` : 'an object that defineJob did not make';
}
