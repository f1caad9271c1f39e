/**
 * A tenant as an SQS MessageGroupId: 1-128 printable ASCII characters (no spaces). A tenant key that is
 * one already (a customer id, most caller identities) is used as it is, so that it reads the same in SQS's
 * metrics and the DLQ; anything else (an empty string, a long IAM session ARN, non-ASCII) becomes a hash of
 * it, which keeps one tenant one group.
 */
import { createHash } from 'node:crypto';

const VALID_GROUP_ID = /^[\x21-\x7e]{1,128}$/;

export function tenantGroupId(tenant: string): string {
  return VALID_GROUP_ID.test(tenant) ? tenant : `sha256:${createHash('sha256').update(tenant).digest('base64url')}`;
}
