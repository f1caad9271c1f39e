import { defineJobType } from 'jobline';
import * as z from 'zod/mini';

// What the API and JobClient need: the payload's schema and the queue options. No handler code.
export const thumbnailType = defineJobType({
  name: 'thumbnail',
  kind: 'leased', // an effect outside DynamoDB: the worker holds a lease while it runs
  schema: z.object({ key: z.string().check(z.minLength(1)) }),
  queue: { timeoutSeconds: 60 },
});
