/**
 * SigV4 for the HTTP API of a deployed stack (IAM authorization, service execute-api), with the user's
 * credentials. @smithy/signature-v4 and @aws-sdk/credential-provider-node are what the AWS SDK clients
 * jobline depends on use already: declaring them adds nothing to an install.
 */
import type { SignableRequest } from '../shared/client/api-client';
import { Sha256 } from '../shared/aws/sha256';

export async function sigV4Signer(region: string, profile?: string): Promise<(request: SignableRequest) => Promise<Record<string, string>>> {
  const [{ SignatureV4 }, { defaultProvider }] = await Promise.all([import('@smithy/signature-v4'), import('@aws-sdk/credential-provider-node')]);
  const signer = new SignatureV4({ service: 'execute-api', region, credentials: defaultProvider(profile ? { profile } : {}), sha256: Sha256 });
  return async ({ method, url, headers, body }) => {
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...headers, host: url.host },
      ...(body !== undefined ? { body } : {}),
    });
    const out = { ...signed.headers };
    delete out.host; // fetch sets it
    return out;
  };
}
