import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root: entry files and the lock file are found from here, whatever the cwd. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const entry = (relative: string) => path.join(PROJECT_ROOT, relative);
