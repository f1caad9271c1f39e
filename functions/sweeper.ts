/** Lambda entry point of the sweeper: a scheduled event in, one sweep over the jobs that made no progress. */
import { createSweepHandler } from '../shared/sweeper/handler';

export const handler = createSweepHandler();
