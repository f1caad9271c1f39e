import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's root (the repository, or node_modules/jobline when installed). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const entry = (relative: string) => path.join(PACKAGE_ROOT, relative);

const LOCK_FILES = ['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock'];

/** The lock file of the app being synthesized: the nearest one above the working directory, else this package's. */
export function lockFile(from: string = process.cwd()): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    for (const name of LOCK_FILES) if (existsSync(path.join(dir, name))) return path.join(dir, name);
    if (path.dirname(dir) === dir) return path.join(PACKAGE_ROOT, 'package-lock.json');
  }
}
