/**
 * Makes sure a cloud assembly exists for the local runtime, synthesized from the current sources with the
 * settings asked for. Synthesis here (in this process, with the local esbuild) writes a marker into the
 * assembly, jobline-synth.json: a hash of the settings it used (app options, CDK context from the
 * environment), the sources' newest modification time and a hash of the manifest and templates it wrote.
 * cdk.out is reused only when that marker matches; anything else (no marker: made by `cdk synth`,
 * possibly with `-c queueOverrides=...`; other settings; newer sources; an assembly rewritten since) is
 * synthesized again, and the reason is returned so that the caller can say it. (A directory that a caller
 * gives without settings is its own, e.g. a test's hand-written assembly: taken when newer than the sources.)
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AppOptions } from '../app/app';
import { LOCAL_DEBUG_CONTEXT } from '../infra/local-debug';
import { PACKAGE_ROOT } from '../infra/paths';

export const DEFAULT_ASSEMBLY_DIR = path.join(PACKAGE_ROOT, 'cdk.out');
export const SYNTH_MARKER = 'jobline-synth.json';
// What this repository's app is synthesized from (app/: the stack, its job types and their handlers).
const SOURCES = ['app', 'infra', 'shared', 'functions', 'package-lock.json', 'cdk.json'];
/** What the CDK app reads from the environment besides the app options (see aws-cdk-lib's App). */
const SETTINGS_ENVIRONMENT = ['CDK_CONTEXT_JSON', 'CDK_DEFAULT_ACCOUNT', 'CDK_DEFAULT_REGION'];

interface SynthMarker {
  by: 'jobline ensureAssembly';
  settingsHash: string;
  /** The settings, readable (for the reason given when they differ). */
  settings: unknown;
  newestSourceMtimeMs: number;
  assemblyHash: string;
}

function newestMtime(entry: string): { mtimeMs: number; file: string } {
  if (!existsSync(entry)) return { mtimeMs: 0, file: entry };
  const stat = statSync(entry);
  let newest = { mtimeMs: stat.mtimeMs, file: entry };
  if (!stat.isDirectory()) return newest;
  for (const child of readdirSync(entry)) {
    const candidate = newestMtime(path.join(entry, child));
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}

function newestSource(): { mtimeMs: number; file: string } {
  return SOURCES.map((source) => newestMtime(path.join(PACKAGE_ROOT, source))).reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a));
}

/**
 * JSON of plain data with sorted keys; undefined when the value holds something JSON cannot compare
 * faithfully (functions, class instances such as Duration, cycles): such settings are never reused.
 */
export function canonicalJson(value: unknown, seen: Set<unknown> = new Set()): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : undefined;
  if (typeof value !== 'object' || seen.has(value)) return undefined;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      const items = value.map((v) => (v === undefined ? 'null' : canonicalJson(v, seen)));
      return items.includes(undefined) ? undefined : `[${items.join(',')}]`;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return undefined;
    const parts: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) continue;
      const json = canonicalJson(v, seen);
      if (json === undefined) return undefined;
      parts.push(`${JSON.stringify(key)}:${json}`);
    }
    return `{${parts.join(',')}}`;
  } finally {
    seen.delete(value);
  }
}

/** The settings a synthesis uses, as plain data: the app options and what the CDK app reads from the environment. */
export function synthSettings(appOptions: AppOptions | undefined, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const environment: Record<string, string> = {};
  for (const name of SETTINGS_ENVIRONMENT) if (env[name]) environment[name] = env[name]!;
  return { appOptions: appOptions ?? {}, environment };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A hash of what the runtime reads from an assembly: its manifest and its stack templates. */
function assemblyHash(assemblyDir: string): string {
  const hash = createHash('sha256');
  const files = [
    'manifest.json',
    ...readdirSync(assemblyDir)
      .filter((f) => f.endsWith('.template.json'))
      .sort(),
  ];
  for (const file of files) {
    const full = path.join(assemblyDir, file);
    hash.update(`${file}\0`);
    if (existsSync(full)) hash.update(readFileSync(full));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function readMarker(assemblyDir: string): SynthMarker | undefined {
  try {
    const marker = JSON.parse(readFileSync(path.join(assemblyDir, SYNTH_MARKER), 'utf8')) as SynthMarker;
    return marker.by === 'jobline ensureAssembly' ? marker : undefined;
  } catch {
    return undefined;
  }
}

function writeMarker(assemblyDir: string, marker: SynthMarker): void {
  const file = path.join(assemblyDir, SYNTH_MARKER);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(marker, null, 2)}\n`);
  renameSync(temporary, file);
}

/** Settings in a few words: "defaults", or key=value for each app option and environment variable given. */
function describeSettings(settings: unknown): string {
  const { appOptions = {}, environment = {} } = (settings ?? {}) as { appOptions?: Record<string, unknown>; environment?: Record<string, unknown> };
  const parts = [...Object.entries(appOptions), ...Object.entries(environment)].map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length > 0 ? parts.join(' ') : 'defaults';
}

const relative = (file: string) => {
  const name = path.relative(PACKAGE_ROOT, file);
  return name && !name.startsWith('..') && !path.isAbsolute(name) ? name : file;
};

export interface AssemblyStatus {
  /** True when the assembly can be reused as it is. */
  fresh: boolean;
  /** Why, in a few words: "same sources and settings", "cdk.out was made by cdk synth with other settings"... */
  reason: string;
}

/**
 * Whether the assembly in `assemblyDir` was made by ensureAssembly from the current sources with these
 * settings (`appOptions`, none: the defaults; and the environment's CDK context).
 */
export function assemblyStatus(assemblyDir: string, appOptions?: AppOptions, env: NodeJS.ProcessEnv = process.env): AssemblyStatus {
  const name = relative(assemblyDir);
  if (!existsSync(path.join(assemblyDir, 'manifest.json'))) return { fresh: false, reason: `there is no cloud assembly in ${name} yet` };
  const marker = readMarker(assemblyDir);
  if (!marker) return { fresh: false, reason: `${name} was made by cdk synth (not by npm start), maybe with other settings` };
  const settings = synthSettings(appOptions, env);
  const settingsJson = canonicalJson(settings);
  if (settingsJson === undefined) return { fresh: false, reason: 'the app options hold values that cannot be compared (e.g. jobTypes, Durations)' };
  if (marker.settingsHash !== sha256(settingsJson)) {
    return { fresh: false, reason: `${name} was made with other settings (${describeSettings(marker.settings)}; now ${describeSettings(settings)})` };
  }
  let contents: string;
  try {
    contents = assemblyHash(assemblyDir);
  } catch {
    return { fresh: false, reason: `${name} cannot be read` };
  }
  if (marker.assemblyHash !== contents) return { fresh: false, reason: `${name} was made by cdk synth with other settings (rewritten after npm start synthesized it)` };
  const newest = newestSource();
  if (newest.mtimeMs !== marker.newestSourceMtimeMs) return { fresh: false, reason: `the sources changed since ${name} was made (${relative(newest.file)})` };
  return { fresh: true, reason: 'same sources and settings' };
}

/**
 * A caller's own assembly (a test's hand-written or pre-synthesized one), taken as it is when its manifest
 * is newer than every source, whoever made it and with whatever settings.
 */
export function isAssemblyNewerThanSources(assemblyDir: string): boolean {
  const manifest = path.join(assemblyDir, 'manifest.json');
  return existsSync(manifest) && newestSource().mtimeMs < statSync(manifest).mtimeMs;
}

/** True when the assembly was made by ensureAssembly from the current sources with the default settings. */
export function isAssemblyFresh(assemblyDir: string): boolean {
  return assemblyStatus(assemblyDir).fresh;
}

export interface SynthOptions {
  /**
   * The assembly directory (default: cdk.out). cdk.out, or any directory with appOptions, is reused only when
   * ensureAssembly made it from the same sources with the same settings. A directory given without
   * appOptions is the caller's own: it is taken as it is when it is newer than the sources; otherwise it
   * is synthesized again, with the settings ensureAssembly made it with (when it did), else the defaults.
   */
  assemblyDir?: string;
  /** Synthesize even when the assembly could be reused. */
  force?: boolean;
  /** Settings for this synthesis, as `cdk synth -c ...` would pass them (e.g. queueOverrides); none: the defaults. */
  appOptions?: AppOptions;
}

export interface EnsuredAssembly {
  assemblyDir: string;
  synthesized: boolean;
  /** Why it was synthesized or reused (see AssemblyStatus.reason; "asked to (force)" when forced). */
  reason: string;
}

/** Returns the assembly directory, synthesizing first when needed; says which it did and why. */
export async function ensureAssembly(options: SynthOptions = {}): Promise<EnsuredAssembly> {
  const assemblyDir = options.assemblyDir ?? DEFAULT_ASSEMBLY_DIR;
  const callersOwn = options.assemblyDir !== undefined && path.resolve(options.assemblyDir) !== DEFAULT_ASSEMBLY_DIR && options.appOptions === undefined;
  let appOptions = options.appOptions;
  let kept = '';
  if (callersOwn) {
    if (!options.force && isAssemblyNewerThanSources(assemblyDir)) return { assemblyDir, synthesized: false, reason: 'newer than the sources' };
    // One that ensureAssembly made keeps its settings when sources changed since (never silently the defaults).
    const made = (readMarker(assemblyDir)?.settings as { appOptions?: AppOptions } | undefined)?.appOptions;
    if (made && Object.keys(made).length > 0) {
      appOptions = made;
      kept = `; with the settings it was made with (${describeSettings({ appOptions: made })})`;
    }
  }
  const status = options.force ? { fresh: false, reason: 'asked to (force)' } : assemblyStatus(assemblyDir, appOptions);
  if (status.fresh) return { assemblyDir, synthesized: false, reason: status.reason };
  // Sources saved during the synthesis make the next start synthesize again: their time is taken before.
  const newestSourceMtimeMs = newestSource().mtimeMs;
  // A marker left from an earlier synthesis must not vouch for this one, whatever happens next.
  rmSync(path.join(assemblyDir, SYNTH_MARKER), { force: true });
  // This repository's own app, loaded from its sources (a variable keeps the published package's bundle
  // from carrying the example app: there, jobline dev synthesizes the user's app with its cdk.json).
  const ownApp = '../app/app';
  const { buildApp } = (await import(ownApp)) as typeof import('../app/app');
  // Bundles with source maps, for the local runtime only (infra/local-debug.ts).
  withContext({ [LOCAL_DEBUG_CONTEXT]: true }, () => buildApp({ ...appOptions, outdir: assemblyDir, validateTemplates: false }).app.synth());
  markAssembly(assemblyDir, appOptions, newestSourceMtimeMs);
  return { assemblyDir, synthesized: true, reason: `${status.reason}${kept}` };
}

/**
 * Writes the marker that vouches for the assembly in `assemblyDir`: made with these app options from the
 * sources as they were at `newestSourceMtimeMs`. Settings that cannot be compared get no marker.
 */
export function markAssembly(assemblyDir: string, appOptions?: AppOptions, newestSourceMtimeMs: number = newestSource().mtimeMs, env: NodeJS.ProcessEnv = process.env): boolean {
  const settings = synthSettings(appOptions, env);
  const settingsJson = canonicalJson(settings);
  if (settingsJson === undefined) return false;
  writeMarker(assemblyDir, { by: 'jobline ensureAssembly', settingsHash: sha256(settingsJson), settings, newestSourceMtimeMs, assemblyHash: assemblyHash(assemblyDir) });
  return true;
}

/**
 * Runs `run` with `context` added to CDK_CONTEXT_JSON, where a CDK App reads the context the CDK CLI gives
 * it (`cdk synth -c ...`), then puts the variable back as it was.
 */
function withContext<T>(context: Record<string, unknown>, run: () => T): T {
  const saved = process.env.CDK_CONTEXT_JSON;
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...(saved ? (JSON.parse(saved) as Record<string, unknown>) : {}), ...context });
  try {
    return run();
  } finally {
    if (saved === undefined) delete process.env.CDK_CONTEXT_JSON;
    else process.env.CDK_CONTEXT_JSON = saved;
  }
}
