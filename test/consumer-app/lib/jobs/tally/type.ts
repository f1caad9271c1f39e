import { defineJobType } from 'jobline';
import * as z from 'zod/mini';

export const tallyType = defineJobType({
  name: 'tally',
  kind: 'transactional', // its only effects are DynamoDB writes, committed with the job's completion
  schema: z.object({ counter: z.string().check(z.regex(/^[a-z-]{1,40}$/)), by: z.number().check(z.int()) }),
});
