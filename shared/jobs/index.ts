/** Every job type of this stack. Add a type here and infra/ gives it a queue, a DLQ and a worker. */
import type { JobType } from './define';
import { transfer } from './transfer';
import { webhook } from './webhook';

export const jobTypes: readonly JobType[] = [transfer, webhook];

export function findJobType(name: string, types: readonly JobType[] = jobTypes): JobType | undefined {
  return types.find((t) => t.name === name);
}
