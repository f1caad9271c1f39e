/** Calls the API function's code as API Gateway would, against the emulators. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { jobTypes } from '../../app/jobs';
import { apiDepsFromEnv } from '../../shared/api/handler';
import { dynamoClient } from '../../shared/aws/clients';
import type { Binding } from '../../shared/store/binding';
import { SubmissionStore } from '../../shared/store/submission-store';
import { route, ROUTES } from '../../shared/api/router';
import type { SubmitDeps } from '../../shared/api/submit';
import { ENV, queueUrlVariable } from '../../shared/config';
import { iamIdentity, toApiGatewayEvent } from '../../local/lambda/http-event';
import type { JobQueues } from './resources';

export function apiDeps(tableName: string, queues: Record<string, JobQueues>): SubmitDeps {
  const env: NodeJS.ProcessEnv = { [ENV.tableName]: tableName };
  for (const [type, q] of Object.entries(queues)) env[queueUrlVariable(type)] = q.queue.url;
  return apiDepsFromEnv(jobTypes, env);
}

export function submitEvent(type: string, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  return toApiGatewayEvent(
    { method: 'POST', url: `/jobs/${type}`, headers: { 'content-type': 'application/json', host: 'api.test', ...headers }, body: Buffer.from(raw) },
    ROUTES.submit,
    { id: type },
  );
}

export function retryEvent(id: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return toApiGatewayEvent({ method: 'POST', url: `/jobs/${id}/retry`, headers: { host: 'api.test', ...headers }, body: Buffer.alloc(0) }, ROUTES.retry, { id });
}

/** What binds a job's messages to it (type, payload hash, generation), read from its record. */
export async function bindingOf(tableName: string, jobId: string): Promise<Binding> {
  const job = await new SubmissionStore(dynamoClient(), tableName).get(jobId);
  if (!job) throw new Error(`no job ${jobId}`);
  return { jobId, type: job.type, payloadHash: job.payloadHash, generation: job.generation };
}

export function statusEvent(id: string): APIGatewayProxyEventV2 {
  return toApiGatewayEvent({ method: 'GET', url: `/jobs/${id}`, headers: { host: 'api.test' }, body: Buffer.alloc(0) }, ROUTES.status, { id });
}

export async function call(event: APIGatewayProxyEventV2, deps: SubmitDeps): Promise<{ status: number; body: any; headers: Record<string, string> }> {
  const response = await route(event, deps);
  return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : undefined, headers: response.headers };
}

/** An API Gateway event of a caller identified by IAM (the access key id stands for the principal). */
export function asCaller(
  caller: string | undefined,
  method: string,
  url: string,
  routeKey: string,
  id: string,
  body?: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyEventV2 {
  return toApiGatewayEvent(
    {
      method,
      url,
      headers: { host: 'api.test', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
    },
    routeKey,
    { id },
    caller ? { iam: iamIdentity(caller) } : undefined,
  );
}
