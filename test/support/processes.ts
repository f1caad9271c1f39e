import { execFileSync } from 'node:child_process';

/** The processes of a process group, as `pgid pid args` lines: what a test that started a stack checks is gone. */
export function processesInGroup(pgid: number): string[] {
  return execFileSync('ps', ['-eo', 'pgid=,pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.split(/\s+/)[0] === String(pgid));
}
