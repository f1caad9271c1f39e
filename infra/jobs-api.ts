/**
 * The HTTP API (shared/api/routes.ts: submit, status, list, cancel, retry, bulk) on one thin function, IAM authorization by default,
 * access logs on the default stage.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, queueUrlVariable } from '../shared/config';
import { ROUTES } from '../shared/api/routes';
import { JoblineFunction, type FunctionObservability } from './jobline-function';
import { jobRecordsOnly } from './table-access';
import { LIST_INDEX } from '../shared/store/job-record';

export type ApiAuthorization = 'iam' | 'none';

export interface JobsApiProps {
  /** The API function's entry file (generated: see function-entries.ts). */
  entry: string;
  table: ITable;
  queues: ReadonlyMap<string, IQueue>;
  authorization: ApiAuthorization;
  retentionDays: number;
  /** When the sweeper first looks at a job that has not finished. */
  sweepAfter: Duration;
  logRetention: RetentionDays;
  logLevel: string;
  faultInjection?: boolean;
  observability?: FunctionObservability;
}

export class JobsApi extends Construct {
  readonly api: HttpApi;
  readonly handler: JoblineFunction;
  readonly url: string;

  constructor(scope: Construct, id: string, props: JobsApiProps) {
    super(scope, id);
    const environment: Record<string, string> = {
      [ENV.tableName]: props.table.tableName,
      [ENV.retentionDays]: String(props.retentionDays),
      [ENV.sweepAfterSeconds]: String(props.sweepAfter.toSeconds()),
      [ENV.logLevel]: props.logLevel,
    };
    for (const [name, queue] of props.queues) environment[queueUrlVariable(name)] = queue.queueUrl;

    this.handler = new JoblineFunction(this, 'Handler', {
      entry: props.entry,
      description: 'jobline API: submit jobs and read their status',
      timeout: Duration.seconds(10),
      memorySize: 512,
      logRetention: props.logRetention,
      faultInjection: props.faultInjection,
      observability: props.observability,
      environment,
    });
    // Least privilege: create, read, retry and cancel job records (and no other item of the table), send to
    // the job queues.
    this.handler.role.addToPrincipalPolicy(jobRecordsOnly(props.table, ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']));
    // GET /jobs and the bulk routes: Queries of the list index (keys only; the records are read as above).
    this.handler.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.table.tableArn}/index/${LIST_INDEX}`] }));
    if (props.queues.size > 0) {
      this.handler.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [...props.queues.values()].map((q) => q.queueArn) }));
    }

    const authorizer: IHttpRouteAuthorizer | undefined = props.authorization === 'iam' ? new HttpIamAuthorizer() : undefined;
    this.api = new HttpApi(this, 'HttpApi', { description: 'jobline job API', createDefaultStage: false });
    const integration = new HttpLambdaIntegration('Jobs', this.handler.function);
    for (const routeKey of Object.values(ROUTES)) {
      const [method, path] = routeKey.split(' ') as [keyof typeof HttpMethod, string];
      this.api.addRoutes({ path, methods: [HttpMethod[method]], integration, authorizer });
    }

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
      throttle: { rateLimit: 1000, burstLimit: 2000 },
    });
    this.url = stage.url;

    if (props.authorization === 'none') {
      for (const child of this.api.node.findAll()) {
        if (/^(GET|POST)--(jobs|bulk)/.test(child.node.id)) {
          Validations.of(child).acknowledge({
            id: 'AwsSolutions-APIG4',
            reason: 'Authorization was turned off on purpose (authorization: "none"), e.g. for a private test stack.',
          });
        }
      }
    }
  }
}
