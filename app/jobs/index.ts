/**
 * This app's job types, for its stack (app/stack.ts) and its tests. A job type is two modules in a folder
 * of its own: type.ts declares it (payload schema, queue options) and handler.ts defines what it does.
 */
import type { JobType } from '../../shared/jobs/define';
import { transfer } from './transfer/handler';
import { webhook } from './webhook/handler';

export const jobTypes: readonly JobType[] = [transfer, webhook];

export function findJobType(name: string): JobType | undefined {
  return jobTypes.find((t) => t.name === name);
}
