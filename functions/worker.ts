/** Lambda entry point of every job type's worker: an SQS batch in, a partial batch response out. */
import { createWorkerHandler } from '../shared/worker/handler';

export const handler = createWorkerHandler();
