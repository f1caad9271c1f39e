/**
 * `--stack NAME`: a deployed stack, found by its CloudFormation outputs (DescribeStacks) with the user's AWS
 * credentials (`--profile`, `--region`, or the SDK's usual chain and AWS_REGION). The Jobline construct adds
 * one output per thing the CLI needs and says what each is in its description (`jobline:api`, `jobline:table`,
 * `jobline:queues:<type>`: infra/jobline.ts), so the CLI does not depend on logical ids or on outputs of the
 * app's own. The CloudFormation client (3.4 MB installed) is loaded only here, for --stack.
 */
import { OUTPUT_MARKER } from '../shared/config';
import { CliError, EXIT } from './exit';

export interface StackTarget {
  stackName: string;
  region: string;
  apiUrl?: string;
  tableName?: string;
  jobTypes: { type: string; queueUrl: string; dlqUrl: string }[];
}

export interface Output {
  OutputKey?: string;
  OutputValue?: string;
  Description?: string;
}

/** The jobline parts of a stack's outputs; an error when there are none (not a jobline stack) or several constructs. */
export function joblineOutputs(stackName: string, region: string, outputs: readonly Output[]): StackTarget {
  const target: StackTarget = { stackName, region, jobTypes: [] };
  const apis = new Set<string>();
  for (const output of outputs) {
    const match = new RegExp(`^${OUTPUT_MARKER}(api|table|queues)(?::(\\S+))?`).exec(output.Description ?? '');
    if (!match || output.OutputValue === undefined) continue;
    const [, what, type] = match;
    if (what === 'api') apis.add((target.apiUrl = output.OutputValue.replace(/\/+$/, '')));
    else if (what === 'table') target.tableName = output.OutputValue;
    else if (type) {
      const [queueUrl, dlqUrl] = output.OutputValue.split(' ');
      if (queueUrl && dlqUrl) target.jobTypes.push({ type, queueUrl, dlqUrl });
    }
  }
  if (target.jobTypes.length === 0) {
    throw new CliError(
      `stack ${stackName} has no jobline outputs`,
      EXIT.notFound,
      'deploy it with this version of jobline (the Jobline construct adds outputs described "jobline:...")',
    );
  }
  if (apis.size > 1) throw new CliError(`stack ${stackName} has ${apis.size} Jobline constructs; the CLI works with one per stack`, EXIT.usage);
  target.jobTypes.sort((a, b) => a.type.localeCompare(b.type));
  return target;
}

export async function describeStack(stackName: string, options: { profile?: string; region?: string }): Promise<StackTarget> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient({ ...(options.region ? { region: options.region } : {}), ...(options.profile ? { profile: options.profile } : {}) });
  try {
    let region: string;
    try {
      region = await client.config.region();
    } catch {
      throw new CliError('no AWS region', EXIT.usage, 'pass --region, set AWS_REGION, or give the profile a region');
    }
    const answer = await client.send(new DescribeStacksCommand({ StackName: stackName })).catch((error: Error & { $metadata?: unknown }) => {
      if (/does not exist/.test(error.message)) throw new CliError(`there is no stack ${stackName} in ${region}`, EXIT.notFound, 'check --stack, --region and --profile');
      if (error.name === 'CredentialsProviderError') throw new CliError(`no AWS credentials: ${error.message}`, EXIT.unreachable, 'pass --profile or set AWS credentials');
      throw new CliError(`CloudFormation could not be read (${error.name}: ${error.message})`, EXIT.unreachable);
    });
    const stack = answer.Stacks?.[0];
    if (!stack) throw new CliError(`there is no stack ${stackName} in ${region}`, EXIT.notFound);
    return joblineOutputs(stackName, region, stack.Outputs ?? []);
  } finally {
    client.destroy();
  }
}
