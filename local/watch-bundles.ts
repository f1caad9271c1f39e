/**
 * Watch mode's fast path for handler edits: a function's bundle rebuilt by esbuild directly, in a fraction of
 * a synthesis, with the settings infra/jobline-function.ts gives NodejsFunction and from the entry it was
 * bundled from. Which entry that was (a generated one in .jobline/entries, or the sweeper's module) is found
 * by building the candidates and comparing with the bundle that runs, byte for byte: a match also proves that
 * the settings are the same, so a rebuild is what a synthesis would bundle. Each match keeps an incremental
 * esbuild context and its metafile's inputs, which tell which bundles a changed file is in. A function that
 * matches nothing (another kind of function, or other settings) is left to the synthesis.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildContext, BuildOptions, Message, OutputFile } from 'esbuild';
import { ENV } from '../shared/config';
import { entriesDir, RUNTIME_MODULES } from '../infra/function-entries';
import { lockFile } from '../infra/paths';
import type { StackModel } from './template/stack-model';
import { filesHash, type FunctionCode } from './watch-reload';

/** What infra/jobline-function.ts gives NodejsFunction's bundling (CDK turns it into these esbuild options). */
function buildOptions(entry: string, projectRoot: string, outfile: string, runtime: string, variant: { faultInjection: boolean; sourceMap: boolean }): BuildOptions {
  return {
    entryPoints: [entry],
    absWorkingDir: projectRoot,
    outfile,
    bundle: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    platform: 'node',
    target: `node${/^nodejs(\d+)/.exec(runtime)?.[1] ?? '20'}`,
    format: 'esm',
    minify: true,
    mainFields: ['module', 'main'],
    ...(variant.sourceMap ? { sourcemap: true, sourcesContent: false } : {}),
    banner: { js: "import { createRequire as __jobline_createRequire } from 'node:module'; const require = __jobline_createRequire(import.meta.url);" },
    define: { 'process.env.JOBLINE_BUILD_FAULT_INJECTION': JSON.stringify(variant.faultInjection ? 'true' : 'false') },
    alias: { '@aws-sdk/credential-provider-node': RUNTIME_MODULES.credentials },
  };
}

interface Bundle {
  entry: string;
  context: BuildContext;
  /** Absolute paths of the files in the bundle. */
  inputs: Set<string>;
  /** The hash (watch-reload.ts filesHash) of the bundle it last built. */
  hash: string;
  /** Where the build's files go: a directory of cdk.out beside the assets, so source map paths stay right. */
  outDir: string;
}

export type Rebuilt = { logicalId: string; ok: true; hash: string; codeDir: string; file: string } | { logicalId: string; ok: false; error: string };

/** The first error of a failed build, as `file:line:column: text` (`name` gives the file's name for a person). */
export function buildError(error: unknown, name: (file: string) => string = (file) => file): string {
  const errors = (error as { errors?: Message[] }).errors;
  const first = errors?.[0];
  if (!first) return error instanceof Error ? error.message : String(error);
  const where = first.location ? `${name(first.location.file)}:${first.location.line}:${first.location.column + 1}: ` : '';
  return `${where}${first.text}${errors.length > 1 ? ` (and ${errors.length - 1} more errors)` : ''}`;
}

export class FunctionBundles {
  private readonly bundles = new Map<string, Bundle>();
  private readonly projectRoot: string;
  private esbuild: typeof import('esbuild') | undefined;

  constructor(
    private readonly projectDir: string,
    private readonly assemblyDir: string,
  ) {
    // NodejsFunction bundles with the lock file's directory as its working directory (infra/jobline-function.ts).
    this.projectRoot = path.dirname(lockFile(projectDir));
  }

  /** The functions with a fast path, by logical id. */
  get functions(): string[] {
    return [...this.bundles.keys()];
  }

  /**
   * Finds the entry of each function whose bundle is not the one last built here (until `stopped` says so).
   * Returns the logical ids matched now.
   */
  async calibrate(model: StackModel, code: ReadonlyMap<string, FunctionCode>, stopped: () => boolean = () => false): Promise<string[]> {
    this.esbuild ??= await import('esbuild');
    const matched: string[] = [];
    for (const fn of model.functions) {
      const running = code.get(fn.logicalId);
      if (!running || stopped()) continue;
      if (this.bundles.get(fn.logicalId)?.hash === running.hash) continue;
      await this.forget(fn.logicalId);
      const sourceMap = existsSync(`${running.file}.map`);
      const outDir = path.join(this.assemblyDir, 'jobline-watch.calibration');
      const outfile = path.join(outDir, path.basename(running.file));
      search: for (const faultInjection of [false, true]) {
        for (const entry of this.candidates(fn.logicalId, model)) {
          const context = await this.esbuild.context(buildOptions(entry, this.projectRoot, outfile, fn.runtime, { faultInjection, sourceMap }));
          try {
            const result = await context.rebuild();
            if (this.hashOf(result.outputFiles ?? [], outDir) === running.hash) {
              this.bundles.set(fn.logicalId, { entry, context, inputs: this.inputsOf(result.metafile), hash: running.hash, outDir });
              matched.push(fn.logicalId);
              break search;
            }
          } catch {
            // A stale entry may import what no longer exists: not this function's.
          }
          await context.dispose();
        }
      }
    }
    return matched;
  }

  /** Whether the function's bundle holds the file. */
  holds(logicalId: string, file: string): boolean {
    return this.bundles.get(logicalId)?.inputs.has(file) ?? false;
  }

  /** The functions whose bundles hold one of these files. */
  affectedBy(files: Iterable<string>): string[] {
    const changed = [...files];
    return [...this.bundles].filter(([, b]) => changed.some((file) => b.inputs.has(file))).map(([logicalId]) => logicalId);
  }

  /** Rebuilds these bundles; each new one is written to a directory of its own in cdk.out (named by its hash). */
  async rebuild(logicalIds: readonly string[]): Promise<Rebuilt[]> {
    return Promise.all(
      logicalIds.map(async (logicalId): Promise<Rebuilt> => {
        const bundle = this.bundles.get(logicalId);
        if (!bundle) return { logicalId, ok: false, error: 'no bundle to rebuild' };
        let files: OutputFile[];
        try {
          const result = await bundle.context.rebuild();
          files = result.outputFiles ?? [];
          bundle.inputs = this.inputsOf(result.metafile);
        } catch (error) {
          // esbuild names files from its working directory; a person reads them from the project's.
          return { logicalId, ok: false, error: buildError(error, (file) => path.relative(this.projectDir, path.resolve(this.projectRoot, file))) };
        }
        const hash = this.hashOf(files, bundle.outDir);
        const codeDir = path.join(this.assemblyDir, `jobline-watch.${hash.slice(0, 16)}`);
        if (!existsSync(codeDir)) {
          // Written beside, then renamed: an environment never starts from half a bundle.
          const temporary = `${codeDir}.${process.pid}.tmp`;
          rmSync(temporary, { recursive: true, force: true });
          mkdirSync(temporary, { recursive: true });
          for (const file of files) writeFileSync(path.join(temporary, path.relative(bundle.outDir, file.path)), file.contents);
          renameSync(temporary, codeDir);
        }
        bundle.hash = hash;
        const main = files.find((f) => !f.path.endsWith('.map'))!;
        return { logicalId, ok: true, hash, codeDir, file: path.join(codeDir, path.relative(bundle.outDir, main.path)) };
      }),
    );
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.bundles.keys()].map((logicalId) => this.forget(logicalId)));
  }

  private async forget(logicalId: string): Promise<void> {
    const bundle = this.bundles.get(logicalId);
    this.bundles.delete(logicalId);
    await bundle?.context.dispose();
  }

  /**
   * The entries a function may have been bundled from, newest first: a job type's worker entries, the API's
   * entries, or the sweeper's module (infra/function-entries.ts names them).
   */
  private candidates(logicalId: string, model: StackModel): string[] {
    const fn = model.functions.find((f) => f.logicalId === logicalId)!;
    if (fn.environment[ENV.sweepTypes] !== undefined) return [RUNTIME_MODULES.sweeper];
    const type = fn.environment[ENV.jobType];
    const prefix = typeof type === 'string' ? `worker-${type}-` : model.routes.some((r) => r.functionLogicalId === logicalId) ? 'api-' : undefined;
    if (!prefix) return [];
    const dir = entriesDir(this.projectDir);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((name) => name.startsWith(prefix) && name.endsWith('.mjs'))
      .map((name) => path.join(dir, name))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
      .slice(0, 8);
  }

  private hashOf(files: readonly OutputFile[], outDir: string): string {
    return filesHash(files.map((f) => ({ name: path.relative(outDir, f.path).split(path.sep).join('/'), contents: f.contents })));
  }

  private inputsOf(metafile: { inputs: Record<string, unknown> } | undefined): Set<string> {
    return new Set(Object.keys(metafile?.inputs ?? {}).map((input) => path.resolve(this.projectRoot, input)));
  }
}
