import { defineJob } from 'jobline';
import { tallyType } from './type';

export const tally = defineJob(tallyType, async ({ counter, by }, ctx) => ({
  result: { counter, by },
  writes: [
    {
      Update: {
        TableName: ctx.tableName,
        Key: { pk: { S: `COUNTER#${counter}` } },
        UpdateExpression: 'ADD #count :by',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':by': { N: String(by) } },
      },
    },
  ],
}));
