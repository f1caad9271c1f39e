/**
 * Makes sure a cloud assembly exists for the local runtime: reuses cdk.out when it is newer than every
 * source it is built from, otherwise synthesizes the app (in this process, with the local esbuild).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AppOptions } from '../infra/app';
import { PROJECT_ROOT } from '../infra/paths';

export const DEFAULT_ASSEMBLY_DIR = path.join(PROJECT_ROOT, 'cdk.out');
const SOURCES = ['infra', 'shared', 'functions', 'package-lock.json', 'cdk.json'];

function newestMtime(entry: string): number {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const child of readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, child)));
  return newest;
}

export function isAssemblyFresh(assemblyDir: string): boolean {
  const manifest = path.join(assemblyDir, 'manifest.json');
  if (!existsSync(manifest)) return false;
  const built = statSync(manifest).mtimeMs;
  return SOURCES.every((source) => newestMtime(path.join(PROJECT_ROOT, source)) < built);
}

export interface SynthOptions {
  assemblyDir?: string;
  /** Synthesize even when the assembly looks fresh (always true when appOptions are given). */
  force?: boolean;
  /** Settings for this synthesis, as `cdk synth -c ...` would pass them (e.g. queueOverrides). */
  appOptions?: AppOptions;
}

/** Returns the assembly directory, synthesizing first when needed; says which it did. */
export async function ensureAssembly(options: SynthOptions = {}): Promise<{ assemblyDir: string; synthesized: boolean }> {
  const assemblyDir = options.assemblyDir ?? DEFAULT_ASSEMBLY_DIR;
  if (!options.force && !options.appOptions && isAssemblyFresh(assemblyDir)) return { assemblyDir, synthesized: false };
  const { buildApp } = await import('../infra/app');
  buildApp({ ...options.appOptions, outdir: assemblyDir, validateTemplates: false }).app.synth();
  return { assemblyDir, synthesized: true };
}
