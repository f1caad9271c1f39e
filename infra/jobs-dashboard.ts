/**
 * The stack's CloudWatch dashboard: one row per job type (what happened to its jobs, how long they waited
 * and ran, its queue and DLQ), so that an alarm's link lands on the job type it is about.
 */
import { Aws, Duration, Names, Stack, Token } from 'aws-cdk-lib';
import { Dashboard, GraphWidget, type IMetric, TextWidget, MathExpression } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { JobWorker } from './job-worker';

export interface JobsDashboardProps {
  /** The dashboard's name (the alarms link to it by name, so it is known before the dashboard is built). */
  readonly dashboardName: string;
  readonly workers: readonly JobWorker[];
  /** A callbacks graph per job type (completion callbacks are on). @default false */
  readonly callbacks?: boolean;
}

/** A dashboard name for `scope`: its stack's and path's, in the characters CloudWatch allows. */
export function dashboardNameFor(scope: Construct): string {
  const stackName = Stack.of(scope).stackName;
  // A stack name known only at deploy time (a token) cannot be part of a name the alarms are built with.
  if (Token.isUnresolved(stackName)) return Names.uniqueResourceName(scope, { maxLength: 255, separator: '-' });
  return `${stackName}-${scope.node.id}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 255);
}

/** The console's address of a dashboard, in the stack's region. */
export function dashboardUrl(dashboardName: string): string {
  return `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${dashboardName}`;
}

const WIDTH = 6;
const HEIGHT = 6;

export class JobsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: JobsDashboardProps) {
    super(scope, id);
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName, defaultInterval: Duration.hours(3) });
    for (const worker of props.workers) this.addJobTypeRow(worker, props.callbacks ?? false);
  }

  private addJobTypeRow(w: JobWorker, callbacks: boolean): void {
    const name = w.jobTypeName;
    const failureRate = new MathExpression({
      expression: 'IF(s + f > 0, 100 * f / (s + f), 0)',
      usingMetrics: { s: w.metricJobsSucceeded(), f: w.metricJobsFailed() },
      label: 'failure rate %',
      period: Duration.minutes(1),
    });
    this.dashboard.addWidgets(
      new TextWidget({ markdown: `## ${name}\nQueue \`${name}\`: jobs, waits and runs, and the DLQ. Alarms of this job type link here.`, width: 24, height: 2 }),
    );
    this.dashboard.addWidgets(
      graph(
        `${name}: jobs per minute`,
        [
          w.metricJobsSubmitted(),
          w.metricJobsSucceeded(),
          w.metricJobsFailed(),
          w.metricJobsRetried(),
          w.metricJobsCancelled(),
          w.metricDuplicatesAbsorbed(),
          w.metricJobsResent(),
        ],
        [failureRate],
      ),
      graph(`${name}: queue wait (ms)`, [w.metricQueueWait({ statistic: 'p50', label: 'p50' }), w.metricQueueWait({ label: 'p99' })]),
      graph(`${name}: run duration (ms)`, [
        w.metricRunDuration({ statistic: 'p50', label: 'p50' }),
        w.metricRunDuration({ label: 'p99' }),
        w.metricWorkerDuration({ label: 'invocation p99' }),
      ]),
      graph(`${name}: queue and DLQ`, [w.metricJobsWaiting({ label: 'waiting' }), w.metricDeadLetters({ label: 'in the DLQ' })], [w.metricOldestJobAge({ label: 'oldest (s)' })]),
    );
    const extras: GraphWidget[] = [];
    if (w.hasTenants) {
      extras.push(
        graph(`${name}: tenants (fair queue)`, [w.metricNoisyTenants({ label: 'noisy tenants' })], [w.metricOldestQuietTenantJobAge({ label: 'oldest quiet-tenant job (s)' })]),
      );
    }
    if (callbacks) {
      extras.push(
        graph(
          `${name}: completion callbacks`,
          [w.metricCallbacksDelivered({ label: 'delivered' }), w.metricCallbacksParked({ label: 'parked in the callback DLQ' })],
          [w.metricCallbackDelay({ label: 'delay after the job ended, p99 (ms)' })],
        ),
      );
    }
    if (extras.length > 0) this.dashboard.addWidgets(...extras);
  }
}

function graph(title: string, left: IMetric[], right: IMetric[] = []): GraphWidget {
  return new GraphWidget({ title, left, right, width: WIDTH, height: HEIGHT });
}
