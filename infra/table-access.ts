/** IAM statements on the jobs table that reach job records only, never the job types' own items. */
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';

/**
 * `actions` on items whose key starts with JOB# (the dynamodb:LeadingKeys condition), and on the other
 * jobline items named by `alsoPrefixes` (the sweeper's cursors: SWEEP#).
 */
export function jobRecordsOnly(table: ITable, actions: string[], alsoPrefixes: readonly string[] = []): PolicyStatement {
  return new PolicyStatement({
    actions,
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['JOB#*', ...alsoPrefixes.map((p) => `${p}*`)] } },
  });
}
