/**
 * Watches directory trees for changed files, with one fs.watch per directory: Node 20's recursive fs.watch on
 * Linux walks and watches every subdirectory (node_modules and cdk.out too) with no way to leave one out.
 * Directories that appear are watched too; a file saved by rename (as editors do) is seen in its directory.
 */
import { existsSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

export interface TreeWatch {
  close(): void;
  /** The directories watched. */
  readonly size: number;
}

/** Editors' swap, backup and probe files. */
const SCRATCH = /(^\.#|~$|\.sw[a-p]$|^4913$|\.tmp$|\.crswap$)/;

/**
 * Calls `onChange` with the absolute path of each file created, changed or deleted under `roots` (and of
 * `files`), except under a directory `skip` names (by absolute path) or whose name starts with a dot.
 */
export function watchTrees(options: { roots: readonly string[]; files?: readonly string[]; skip: (dir: string) => boolean; onChange: (file: string) => void }): TreeWatch {
  const watchers = new Map<string, FSWatcher>();
  const single = new Set(options.files ?? []);
  const skipped = (dir: string) => path.basename(dir).startsWith('.') || options.skip(dir);

  const add = (dir: string, recursive: boolean, announce: boolean) => {
    if (watchers.has(dir) || (recursive && skipped(dir))) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (event, name) => {
        if (!name) return;
        const full = path.join(dir, name.toString());
        if (!recursive && !single.has(full)) return;
        if (SCRATCH.test(path.basename(full))) return;
        let isDirectory = false;
        try {
          isDirectory = statSync(full).isDirectory();
        } catch {
          // Deleted: a change all the same.
        }
        if (isDirectory) {
          if (!recursive) return;
          // Made anew (e.g. by a branch switch): the watchers of the old one and below see nothing any more.
          if (event === 'rename') forget(full);
          add(full, true, true);
        } else options.onChange(full);
      });
    } catch {
      return; // Gone already, or not readable.
    }
    watcher.on('error', () => {
      watcher.close();
      watchers.delete(dir);
    });
    watchers.set(dir, watcher);
    if (!recursive) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) add(full, true, announce);
      // A directory that appears with files in it (copied, unpacked): each is a change.
      else if (announce && !SCRATCH.test(entry.name)) options.onChange(full);
    }
  };

  const forget = (dir: string) => {
    for (const [watched, watcher] of watchers) {
      if (watched !== dir && !watched.startsWith(`${dir}${path.sep}`)) continue;
      watcher.close();
      watchers.delete(watched);
    }
  };

  for (const root of options.roots) if (existsSync(root)) add(root, true, false);
  for (const dir of new Set([...single].map((file) => path.dirname(file)))) if (!watchers.has(dir) && existsSync(dir)) add(dir, false, false);
  return {
    close: () => {
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
    get size() {
      return watchers.size;
    },
  };
}

/** Every file under `roots` that watchTrees would report, with `files` (for a first look at their contents). */
export function listFiles(roots: readonly string[], files: readonly string[], skip: (dir: string) => boolean): string[] {
  const found: string[] = [...files.filter((file) => existsSync(file))];
  const walk = (dir: string) => {
    if (path.basename(dir).startsWith('.') || skip(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && !SCRATCH.test(entry.name)) found.push(full);
    }
  };
  for (const root of roots) if (existsSync(root)) walk(root);
  return found;
}
