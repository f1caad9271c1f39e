/**
 * Waits until every promise in `work` has settled or `graceMs` have passed, whichever comes first; never
 * rejects. The local runtime's pollers and scheduler stop this way: the work in flight gets a grace to end,
 * and what outlives it fails when its function environment stops.
 */
export async function settleWithin(work: Iterable<Promise<unknown>>, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
  try {
    await Promise.race([Promise.allSettled(work), grace]);
  } finally {
    clearTimeout(timer);
  }
}
