// What the Jobline construct gives an operator on AWS: a CloudWatch dashboard with a row per job type, alarms
// whose descriptions link to it, metric* methods that name the metrics the functions write (EMF, in the
// namespace the functions are told), and active X-Ray tracing of every function when asked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { transfer } from '../../app/jobs/transfer/handler';
import { webhook } from '../../app/jobs/webhook/handler';
import { Jobline, type JoblineProps } from '../../infra/jobline';
import { buildTestApp, NO_BUNDLING, synthesize } from '../support/cdk-synth';

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function synth(props: JoblineProps = {}) {
  const outdir = mkdtempSync(path.join(tmpdir(), 'jobline-observability-'));
  outdirs.push(outdir);
  // No function code is read here: bundling is skipped (NO_BUNDLING).
  const stack = new Stack(new App({ outdir, context: NO_BUNDLING }), 'Shop');
  const jobs = new Jobline(stack, 'Jobs', props);
  const workers = { transfer: jobs.addJobType(transfer), webhook: jobs.addJobType(webhook) };
  const template = Template.fromStack(stack);
  return { stack, jobs, workers, template };
}

/** A resource's property as JSON text, tokens and all (a dashboard body is an Fn::Join). */
const textOf = (value: unknown) => JSON.stringify(value);

describe('the CloudWatch dashboard', () => {
  const { template, jobs } = synth();

  it('has a row per job type: its jobs, queue wait, run duration, queue and DLQ', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard!.Properties.DashboardName).toBe('Shop-Jobs');
    const body = textOf(dashboard!.Properties.DashboardBody);
    for (const type of ['transfer', 'webhook']) {
      expect(body).toContain(`## ${type}`);
      for (const title of ['jobs per minute', 'queue wait (ms)', 'run duration (ms)', 'queue and DLQ']) expect(body).toContain(`${type}: ${title}`);
      for (const metric of ['JobsSubmitted', 'JobsSucceeded', 'JobsFailed', 'JobsRetried', 'DuplicatesAbsorbed', 'JobsResent', 'QueueWait', 'RunDuration']) {
        expect(body).toContain(`[\\"Jobline\\",\\"${metric}\\",\\"JobType\\",\\"${type}\\"`);
      }
    }
    expect(jobs.dashboard).toBeDefined();
  });

  it("graphs each job type's completion callbacks when callbacks are on, and not with notifications off", () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = textOf(dashboard!.Properties.DashboardBody);
    for (const type of ['transfer', 'webhook']) {
      expect(body).toContain(`${type}: completion callbacks`);
      for (const metric of ['CallbacksDelivered', 'CallbacksParked', 'CallbackDelay']) expect(body).toContain(`[\\"Jobline\\",\\"${metric}\\",\\"JobType\\",\\"${type}\\"`);
    }
    const [quiet] = Object.values(synth({ notifications: false }).template.findResources('AWS::CloudWatch::Dashboard'));
    expect(textOf(quiet!.Properties.DashboardBody)).not.toContain('completion callbacks');
  });

  it('is linked from every alarm of every job type', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) => /(transfer|webhook): /.test(textOf(a.Properties.AlarmDescription)));
    // Three per job type, and the webhook type's tenants (a fair queue) add the quiet-tenants alarm.
    expect(alarms).toHaveLength(7);
    for (const alarm of alarms) expect(textOf(alarm.Properties.AlarmDescription)).toContain('#dashboards/dashboard/Shop-Jobs');
  });

  it("shows and alarms on a fair queue's tenants for a job type with a tenant key (webhook), not for one without", () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = textOf(dashboard!.Properties.DashboardBody);
    expect(body).toContain('webhook: tenants (fair queue)');
    expect(body).not.toContain('transfer: tenants (fair queue)');
    for (const metric of ['ApproximateNumberOfNoisyGroups', 'ApproximateAgeOfOldestMessageInQuietGroups']) expect(body).toContain(`[\\"AWS/SQS\\",\\"${metric}\\",\\"QueueName\\"`);
    const quiet = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) => a.Properties.MetricName === 'ApproximateAgeOfOldestMessageInQuietGroups');
    expect(quiet).toHaveLength(1);
    expect(quiet[0]!.Properties).toMatchObject({ Namespace: 'AWS/SQS', Statistic: 'Maximum', Threshold: 900, EvaluationPeriods: 5 });
    expect(textOf(quiet[0]!.Properties.AlarmDescription)).toContain('webhook: a job of a quiet tenant');
  });

  it('is left out with dashboard: false, and the alarms then link nowhere', () => {
    const { template: without, jobs: noDashboard } = synth({ dashboard: false });
    without.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    for (const alarm of Object.values(without.findResources('AWS::CloudWatch::Alarm'))) expect(textOf(alarm.Properties.AlarmDescription)).not.toContain('Dashboard:');
    expect(noDashboard.dashboard).toBeUndefined();
  });
});

describe('metrics', () => {
  it('tells every function the namespace, and the metric* methods read that namespace', () => {
    const { template, workers, stack } = synth({ metricsNamespace: 'Shop/Jobs' });
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    const told = functions.filter((f) => f.Properties.Environment?.Variables?.JOBLINE_METRICS_NAMESPACE === 'Shop/Jobs');
    // The API, the two workers, the sweeper and the callback worker write EMF metrics; the notifier is told too.
    expect(told).toHaveLength(functions.length);
    expect(told).toHaveLength(6);
    const failed = stack.resolve(workers.webhook.metricJobsFailed().toMetricConfig().metricStat);
    expect(failed).toMatchObject({ namespace: 'Shop/Jobs', metricName: 'JobsFailed', dimensions: [{ name: 'JobType', value: 'webhook' }], statistic: 'Sum' });
    expect(stack.resolve(workers.webhook.metricJobsResent().toMetricConfig().metricStat)).toMatchObject({ namespace: 'Shop/Jobs', metricName: 'JobsResent', statistic: 'Sum' });
    expect(workers.transfer.metricQueueWait().toMetricConfig().metricStat).toMatchObject({ metricName: 'QueueWait', statistic: 'p99' });
    expect(stack.resolve(workers.webhook.metricCallbacksParked().toMetricConfig().metricStat)).toMatchObject({
      namespace: 'Shop/Jobs',
      metricName: 'CallbacksParked',
      dimensions: [{ name: 'JobType', value: 'webhook' }],
      statistic: 'Sum',
    });
    expect(workers.webhook.metricCallbackDelay().toMetricConfig().metricStat).toMatchObject({ metricName: 'CallbackDelay', statistic: 'p99' });
    expect(workers.transfer.metricRunDuration({ statistic: 'p50' }).toMetricConfig().metricStat).toMatchObject({ metricName: 'RunDuration', statistic: 'p50' });
  });

  it('refuses a namespace CloudWatch would refuse, saying what was given', () => {
    expect(() => synth({ metricsNamespace: 'a:b' })).toThrow(`metricsNamespace must be 1-255 characters without ':' and not start with '$' or a space (given "a:b")`);
  });
});

describe('tracing', () => {
  it('is off by default', () => {
    const { template } = synth();
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) expect(fn.Properties.TracingConfig).toBeUndefined();
  });

  it('turns on active X-Ray tracing of the API, every worker, the sweeper and the notification functions, and passes cdk-nag', () => {
    const built = buildTestApp({ tracing: true, bundle: false });
    try {
      const { template } = synthesize(built);
      const traced = Object.entries(template.findResources('AWS::Lambda::Function', { Properties: { TracingConfig: { Mode: 'Active' } } }));
      expect(traced.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
        'JobsApiHandlerFunction',
        'JobsJobTypetransferWorkerFunction',
        'JobsJobTypewebhookWorkerFunction',
        'JobsNotificationsCallbackWorkerFunction',
        'JobsNotificationsNotifierFunction',
        'JobsSweeperHandlerFunction',
      ]);
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'] })]) },
      });
    } finally {
      built.cleanup();
    }
  }, 120_000);
});
