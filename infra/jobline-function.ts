/**
 * A jobline Lambda function: the latest Node.js runtime aws-cdk-lib offers, arm64, bundled by the local
 * esbuild (never Docker) with the AWS SDK inside (pinned by our lock file, as for production deploys),
 * its own log group, and a role that holds only what the caller grants (no managed policies).
 */
import { type Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import path from 'node:path';
import { RUNTIME_MODULES } from './function-entries';
import { isLocalDebug, LOCAL_DEBUG_CONTEXT } from './local-debug';
import { lockFile } from './paths';
import { ENV } from '../shared/config';

export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

export interface JoblineFunctionProps {
  /** The entry file (absolute, or relative to the working directory). */
  entry: string;
  description: string;
  environment: Record<string, string>;
  timeout: Duration;
  memorySize: number;
  logRetention: RetentionDays;
  /** Compile in the chaos suite's fault injection (test stacks only; never for a deployment). */
  faultInjection?: boolean;
  /** Where the function's EMF metrics go, and whether X-Ray traces it (Jobline's metricsNamespace, tracing). */
  observability?: FunctionObservability;
}

export interface FunctionObservability {
  metricsNamespace: string;
  /** Active X-Ray tracing: Lambda samples and traces each invocation; the SDK passes the trace on to SQS. */
  tracing: boolean;
}

export class JoblineFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: JoblineFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (least privilege: granted per resource)`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${this.logGroup.logGroupArn}`, `${this.logGroup.logGroupArn}:log-stream:*`] }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::<' + Stack.of(this).getLogicalId(this.logGroup.node.defaultChild as never) + '.Arn>:log-stream:*]',
      reason: 'Lambda names the log streams of its own log group at run time; the wildcard is limited to that one log group.',
    });

    if (props.observability?.tracing) {
      // Lambda's active tracing grants these two on "*": X-Ray has no resources to name in a policy.
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords take no resource-level permissions.',
      });
    }

    // Only the local runtime's synthesis asks for source maps (infra/local-debug.ts); deployed bundles have none.
    const localDebug = isLocalDebug(this.node.tryGetContext(LOCAL_DEBUG_CONTEXT));
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.resolve(props.entry),
      handler: 'handler',
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: { ...props.environment, ...(props.observability ? { [ENV.metricsNamespace]: props.observability.metricsNamespace } : {}) },
      ...(props.observability?.tracing ? { tracing: Tracing.ACTIVE } : {}),
      // The app's own project (its lock file pins what is bundled); this package's, when the app has none.
      projectRoot: path.dirname(lockFile()),
      depsLockFilePath: lockFile(),
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: localDebug,
        // File names and positions only: the sources stay out of the map (and out of cdk.out's assets).
        ...(localDebug ? { sourcesContent: false } : {}),
        externalModules: [],
        mainFields: ['module', 'main'],
        // Some bundled CommonJS dependencies call require(); give the ES module bundle one.
        banner: "import { createRequire as __jobline_createRequire } from 'node:module'; const require = __jobline_createRequire(import.meta.url);",
        // Folds the fault-injection checks to constants, so deployed bundles leave that code out entirely.
        define: { 'process.env.JOBLINE_BUILD_FAULT_INJECTION': JSON.stringify(props.faultInjection ? 'true' : 'false') },
        // Lambda gives credentials in the environment: the SDK's provider chain for other places stays out
        // of every bundle (shared/aws/lambda-credentials.ts), a third of a worker's code.
        esbuildArgs: { '--alias:@aws-sdk/credential-provider-node': RUNTIME_MODULES.credentials },
        forceDockerBundling: false,
      },
    });
  }
}
