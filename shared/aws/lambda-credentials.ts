/**
 * The AWS SDK's default credential provider, as jobline's Lambda bundles get it: infra/jobline-function.ts
 * has esbuild alias `@aws-sdk/credential-provider-node` to this module. Lambda hands a function its role's
 * credentials in environment variables, so the SDK's chain for laptops and containers (SSO, shared ini
 * files, web identity, process, IMDS, and the STS/SSO clients they carry: about 90 KB of minified code
 * to load at every cold start) never answers there. Container credentials (an endpoint named in
 * AWS_CONTAINER_CREDENTIALS_*_URI) are kept for runtimes that serve credentials that way.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { CredentialsProviderError, memoize } from '@smithy/core/config';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** Refresh five minutes before credentials expire (what the SDK's own chain does). */
export const credentialsTreatedAsExpired = (credentials: AwsCredentialIdentity): boolean =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;

export const credentialsWillNeedRefresh = (credentials: AwsCredentialIdentity): boolean => credentials?.expiration !== undefined;

export function defaultProvider(init: Parameters<typeof fromEnv>[0] & Parameters<typeof fromHttp>[0] = {}): AwsCredentialIdentityProvider {
  const provider: AwsCredentialIdentityProvider = async () => {
    const env = process.env;
    if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return fromEnv(init)();
    if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return fromHttp(init)();
    throw new CredentialsProviderError(
      'no AWS credentials: jobline functions read them from the environment Lambda sets (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)',
      { tryNextLink: false },
    );
  };
  return memoize(provider, credentialsTreatedAsExpired, credentialsWillNeedRefresh);
}
