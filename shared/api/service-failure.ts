/** An AWS service's answer (it carries $metadata) or a network failure reaching it. */
export function isServiceFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if ('$metadata' in error) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|ENETUNREACH)/.test(code);
}
