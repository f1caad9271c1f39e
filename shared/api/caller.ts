/**
 * Who is calling: the scope of their Idempotency-Keys and the owner of their jobs.
 *
 * - IAM authorization (the default): the caller's IAM principal, as API Gateway reports it in
 *   `requestContext.authorizer.iam`. An assumed role's session name is dropped, so every session of one
 *   role (e.g. every invocation of one Lambda function) is one caller.
 * - `authorization: 'none'`: there is no identity to go by, so every caller is the one caller `public`:
 *   keys and jobs are shared by everyone who can reach the API, which is what turning authorization off
 *   means. Put an authorizer in front to tell callers apart.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export const PUBLIC_CALLER = 'public';

interface IamIdentity {
  userArn?: string | null;
  accessKey?: string | null;
  userId?: string | null;
}

export function callerOf(event: APIGatewayProxyEventV2): string {
  const iam = (event.requestContext as { authorizer?: { iam?: IamIdentity } } | undefined)?.authorizer?.iam;
  if (iam?.userArn) return principalOf(iam.userArn);
  if (iam?.userId) return `user:${iam.userId}`;
  if (iam?.accessKey) return `key:${iam.accessKey}`;
  return PUBLIC_CALLER;
}

/** `arn:aws:sts::123:assumed-role/Role/session` → `arn:aws:sts::123:assumed-role/Role`; other ARNs as they are. */
export function principalOf(arn: string): string {
  const match = /^(arn:[^:]+:sts::\d+:assumed-role\/[^/]+)\/.+$/.exec(arn);
  return match ? match[1]! : arn;
}
