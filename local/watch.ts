/**
 * Watch mode of `jobline dev` (the default; --no-watch turns it off). It watches the app's sources and, on
 * a change (debounced):
 * 1. rebuilds the bundles the changed files are in, with esbuild directly (local/watch-bundles.ts), and puts
 *    new execution environments in place for those whose code changed (a handler edit takes effect in well
 *    under the time of a synthesis);
 * 2. synthesizes the app again, as at the start, in the background, and runs the new template in place of
 *    the running one (local/watch-reload.ts): new queues and tables, queue attributes, event source
 *    settings, functions whose code or configuration changed, routes, schedules. A newer change cancels a
 *    synthesis of older sources.
 * The emulators keep running throughout, so queued messages and table items stay. A file that does not build
 * or an app that does not synthesize is one message, and the previous version keeps running.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { cdkApp, runSynthCommand, synthesizeApp } from './app-synth';
import type { LocalRuntime } from './runtime';
import { readStack, type StackArtifact } from './template/cloud-assembly';
import { FunctionBundles } from './watch-bundles';
import { listFiles, watchTrees, type TreeWatch } from './watch-files';
import { resourceLabel } from './watch-reload';

export interface WatchOptions {
  projectDir: string;
  /** This repository's own app, run from its sources (synthesized by local/synth.ts, not by cdk.json). */
  ownApp: boolean;
  runtime: LocalRuntime;
  stackName?: string;
  /** One line per reload, per problem. */
  say: (line: string) => void;
  /** What the synthesis prints (jobline dev: the synth log). */
  onSynthOutput?: (line: string) => void;
  /** The file onSynthOutput writes, named when a synthesis fails. */
  synthLog?: string;
  /** Each new synthesis that runs (jobline dev names new functions' log files from it). */
  onReload?: (stack: StackArtifact) => void;
  /** Quiet time after a change before reloading. */
  debounceMs?: number;
}

export interface Watcher {
  /** What is watched, for a person: "app/, infra/, shared/, functions/". */
  readonly watching: string;
  /** Resolves once the fast path knows the running bundles (what `rebuilt` lines need); never rejects. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** The directories of this repository's app (cdk.json's watch.include says the same for `cdk watch`). */
const OWN_APP_DIRS = ['app', 'infra', 'shared', 'functions'];
const OWN_APP_FILES = ['cdk.json', 'package-lock.json'];
const SYNTH_SCRIPT = fileURLToPath(new URL('./watch-synth.ts', import.meta.url));
/** Rebuilds older than this are removed at the start; newer ones may serve another jobline dev of the same app. */
const STALE_REBUILD_MS = 24 * 3600_000;

const elapsed = (since: number) => {
  const ms = Math.round(performance.now() - since);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
};

/** The first line of a failed synthesis that says what went wrong (an Error's message), else its last line. */
export function synthProblem(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const error = lines.find((l) => /^(\w+)?Error\b.*?: /.test(l) && !l.startsWith('Error: the CDK app did not synthesize'));
  return (error ?? lines.at(-1) ?? message).replace(/^(\w+)?Error: /, '');
}

export function startWatch(options: WatchOptions): Watcher {
  const { projectDir, runtime, say } = options;
  const debounceMs = options.debounceMs ?? 100;
  const assemblyDir = runtime.assemblyDir;
  const relative = (file: string) => path.relative(projectDir, file) || file;
  const names = (files: Iterable<string>) => {
    const list = [...new Set([...files].map(relative))].sort();
    return list.length <= 2 ? list.join(', ') : `${list.slice(0, 2).join(', ')} and ${list.length - 2} more`;
  };

  // What is watched: this repository's app directories, or the app's project minus what is not its source.
  const outputDir = options.ownApp ? assemblyDir : cdkApp(projectDir).assemblyDir;
  const roots = options.ownApp ? OWN_APP_DIRS.map((d) => path.join(projectDir, d)) : [projectDir];
  const files = options.ownApp ? OWN_APP_FILES.map((f) => path.join(projectDir, f)) : [];
  const skippedDirs = new Set([outputDir, assemblyDir, path.join(projectDir, 'dist')]);
  const skip = (dir: string) => skippedDirs.has(dir) || path.basename(dir) === 'node_modules';
  const watching = options.ownApp
    ? `${OWN_APP_DIRS.map((d) => `${d}/`).join(', ')}, ${OWN_APP_FILES.join(', ')}`
    : `. (without node_modules, dist, ${relative(outputDir)}, dot directories)`;

  // A change is a file whose contents changed: editors that save twice, or touch, reload nothing.
  const contents = new Map<string, string>();
  const digest = (file: string): string => {
    try {
      // A large file (an image, a data set) is known by its size and time: reading it on each event would be slow.
      const stat = statSync(file);
      if (stat.size > 2 * 1024 * 1024) return `${stat.size}:${stat.mtimeMs}`;
      return createHash('sha256').update(readFileSync(file)).digest('hex');
    } catch {
      return 'deleted';
    }
  };
  for (const file of listFiles(roots, files, skip)) contents.set(file, digest(file));

  for (const name of safeReaddir(assemblyDir)) {
    const dir = path.join(assemblyDir, name);
    if (name.startsWith('jobline-watch.') && Date.now() - statSync(dir).mtimeMs > STALE_REBUILD_MS) rmSync(dir, { recursive: true, force: true });
  }

  const bundles = new FunctionBundles(projectDir, assemblyDir);
  let closed = false;
  /** Bumped by every batch of changes: a synthesis started before the latest is of older sources. */
  let generation = 0;
  // The fast path, one step at a time (a rebuild, a calibration); the synthesis runs beside it.
  let fastChain: Promise<void> = Promise.resolve();
  const fast = (step: () => Promise<void>) => {
    fastChain = fastChain.then(step).catch((error: unknown) => {
      if (!closed) say(`watch: ${error instanceof Error ? error.message : String(error)}`);
    });
    return fastChain;
  };

  const calibrate = async () => {
    if (closed) return;
    await bundles.calibrate(runtime.model, runtime.code, () => closed);
  };
  const ready = fast(calibrate);

  // ---- synthesis ------------------------------------------------------------------------------------
  const synth = {
    wanted: false,
    files: new Set<string>(),
    since: 0,
    reported: true,
    running: undefined as Promise<void> | undefined,
    abort: undefined as AbortController | undefined,
  };

  const synthesize = async (signal: AbortSignal): Promise<string> => {
    if (!options.ownApp) return (await synthesizeApp(projectDir, { onOutput: options.onSynthOutput, signal })).assemblyDir;
    const command = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(SYNTH_SCRIPT)} ${JSON.stringify(assemblyDir)}`;
    const { code, tail } = await runSynthCommand(command, { cwd: projectDir, env: process.env, onOutput: options.onSynthOutput, signal });
    if (code !== 0) throw new Error(`the app did not synthesize (exit ${code}):\n${tail.join('\n')}`);
    return assemblyDir;
  };

  const synthLoop = async () => {
    while (synth.wanted && !closed) {
      synth.wanted = false;
      const changed = synth.files;
      const { since, reported } = synth;
      synth.files = new Set();
      synth.since = Infinity;
      synth.reported = true;
      const started = generation;
      const abort = (synth.abort = new AbortController());
      // Put back what this synthesis was for when a newer one takes over.
      const requeue = () => {
        for (const file of changed) synth.files.add(file);
        synth.since = Math.min(synth.since, since);
        synth.reported &&= reported;
      };
      let dir: string;
      try {
        dir = await synthesize(abort.signal);
      } catch (error) {
        if (abort.signal.aborted || closed) {
          requeue();
          continue;
        }
        if (generation !== started) continue;
        say(
          `not reloaded (${names(changed)} changed): the app did not synthesize: ${synthProblem(error instanceof Error ? error.message : String(error))}; ` +
            `the previous version keeps running${options.synthLog ? ` (its output: ${relative(options.synthLog)})` : ''}`,
        );
        continue;
      }
      if (generation !== started || abort.signal.aborted) {
        requeue();
        synth.wanted = true;
        continue;
      }
      let report;
      try {
        const stack = readStack(dir, options.stackName);
        report = await runtime.reload(stack, { isCurrent: () => generation === started });
        if (report) options.onReload?.(stack);
      } catch (error) {
        say(`not reloaded (${names(changed)} changed): ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      if (!report) {
        requeue();
        synth.wanted = true;
        continue;
      }
      for (const note of report.notes) say(`note: ${note}`);
      if (report.changes.length > 0) say(`reloaded ${report.changes.join('; ')} (${names(changed)} changed) in ${elapsed(since)}`);
      else if (!reported && report.notes.length === 0) say(`no change to run (${names(changed)} changed; checked in ${elapsed(since)})`);
      // Functions that now run another bundle (e.g. a new job type's API): find their entries.
      void fast(calibrate);
    }
  };

  const requestSynth = (changed: ReadonlySet<string>, since: number, reported: boolean) => {
    synth.since = synth.files.size === 0 ? since : Math.min(synth.since, since);
    for (const file of changed) synth.files.add(file);
    synth.reported &&= reported;
    synth.wanted = true;
    // A synthesis of older sources would be thrown away: end it now.
    synth.abort?.abort();
    synth.running ??= synthLoop().finally(() => (synth.running = undefined));
  };

  // ---- changes --------------------------------------------------------------------------------------
  const pending = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  const rebuild = async (changed: ReadonlySet<string>, since: number) => {
    const affected = bundles.affectedBy(changed);
    if (affected.length === 0) return { failed: false, reported: false };
    const results = await bundles.rebuild(affected);
    const failures = results.filter((r) => !r.ok);
    // A bundle that failed because one of its files was deleted (a job type removed or moved) is for the
    // synthesis to judge: it removes the function, or says why the app no longer builds.
    const lostFile = (logicalId: string) => [...changed].some((file) => contents.get(file) === 'deleted' && bundles.holds(logicalId, file));
    if (failures.length > 0 && failures.every((r) => lostFile(r.logicalId))) return { failed: false, reported: false };
    if (failures.length > 0) {
      const labels = failures.map((r) => resourceLabel(runtime.model, r.logicalId)).join(', ');
      say(`not reloaded (${names(changed)} changed): ${labels}: ${failures[0]!.ok ? '' : failures[0]!.error}; the previous code keeps running`);
      // A file of the failed bundles that does not build would not synthesize either; anything else (a file
      // deleted or moved, one outside them) may be what the next synthesis needs.
      const buildOnly = [...changed].every((file) => contents.get(file) !== 'deleted' && failures.some((r) => bundles.holds(r.logicalId, file)));
      return { failed: buildOnly, reported: true };
    }
    const replaced = await runtime.replaceFunctionCode(results.flatMap((r) => (r.ok ? [{ logicalId: r.logicalId, codeDir: r.codeDir, file: r.file, hash: r.hash }] : [])));
    if (replaced.length === 0) return { failed: false, reported: false };
    say(`reloaded ${replaced.map((id) => resourceLabel(runtime.model, id)).join(', ')} (${names(changed)} changed) in ${elapsed(since)}`);
    return { failed: false, reported: true };
  };

  const flush = () => {
    timer = undefined;
    const changed = new Set<string>();
    let since = Infinity;
    for (const [file, at] of pending) {
      const now = digest(file);
      if (contents.get(file) === now) continue;
      contents.set(file, now);
      changed.add(file);
      since = Math.min(since, at);
    }
    pending.clear();
    if (changed.size === 0 || closed) return;
    generation++;
    void fast(async () => {
      if (closed) return;
      const { failed, reported } = await rebuild(changed, since);
      // What does not build would not synthesize either: wait for the next change.
      if (!failed) requestSynth(changed, since, reported);
    });
  };

  const tree: TreeWatch = watchTrees({
    roots,
    files,
    skip,
    onChange: (file) => {
      if (closed) return;
      if (!pending.has(file)) pending.set(file, performance.now());
      clearTimeout(timer);
      timer = setTimeout(flush, debounceMs);
    },
  });

  return {
    watching,
    ready: ready.then(() => {}),
    close: async () => {
      closed = true;
      clearTimeout(timer);
      tree.close();
      synth.abort?.abort();
      await Promise.allSettled([fastChain, synth.running]);
      await bundles.dispose();
    },
  };
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The live view (local/live-view.ts) redraws its lines in place on a terminal. `stream` is what it should
 * write to and `print` puts a line above its lines, so that its next redraw still covers only its own.
 */
export function printAboveView(out: NodeJS.WriteStream): { stream: NodeJS.WriteStream; print(line: string): void } {
  let drawn = '';
  const stream = {
    get isTTY() {
      return out.isTTY;
    },
    get columns() {
      return out.columns;
    },
    write: (chunk: string) => {
      // eslint-disable-next-line no-control-regex -- the view's own cursor-up and clear sequence
      if (out.isTTY) drawn = chunk.replace(/^\x1b\[\d+A\x1b\[0J/, '');
      return out.write(chunk);
    },
  } as unknown as NodeJS.WriteStream;
  const print = (line: string) => {
    const lines = drawn.split('\n').length - 1;
    out.write(out.isTTY && lines > 0 ? `\x1b[${lines}A\x1b[0J${line}\n${drawn}` : `${line}\n`);
  };
  return { stream, print };
}
