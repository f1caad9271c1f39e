/**
 * The one check of a submit's callback URL (`Callback-Url` header, `JobClient.submit(..., { callbackUrl })`),
 * made before the job is recorded: an absolute https URL of at most 2048 characters, without credentials.
 * Plain http only to a loopback host, and only where the address guard allows loopback (the local runtime,
 * or JOBLINE_WEBHOOK_ALLOW=loopback): a local receiver. A literal IP address the guard refuses (private,
 * link-local, metadata service) is refused here too; host names are checked again at every delivery, where
 * the connection is made (shared/notify/deliver.ts).
 */
import { isIP } from 'node:net';
import { allowFromEnv, checkHost, classifyAddress, type Allow } from '../net/address-guard';

export const MAX_CALLBACK_URL_LENGTH = 2048;

const isLoopbackHost = (host: string) => {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  return isIP(bare) !== 0 && classifyAddress(bare) === 'loopback';
};

/** Why `value` cannot be a callback URL, or undefined when it can. */
export function callbackUrlProblem(value: unknown, allow?: Allow): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return 'Callback-Url must be an absolute https URL';
  if (value.length > MAX_CALLBACK_URL_LENGTH) return `Callback-Url is ${value.length} characters; the limit is ${MAX_CALLBACK_URL_LENGTH}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'Callback-Url must be an absolute https URL';
  }
  let categories: Allow;
  try {
    categories = allow ?? allowFromEnv();
  } catch (error) {
    return `callbacks are misconfigured: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname) || !categories.has('loopback')) return 'Callback-Url must use https (plain http only to a loopback receiver of the local runtime)';
  } else if (url.protocol !== 'https:') return 'Callback-Url must be an absolute https URL';
  if (url.username !== '' || url.password !== '') return 'Callback-Url may not carry credentials (user:password@); verify the Jobline-Signature header instead';
  if (!isLoopbackHost(url.hostname) || !categories.has('loopback')) {
    const refused = checkHost(url.hostname, categories);
    if (refused) return `Callback-Url: ${refused.message}`;
  }
  return undefined;
}
