/**
 * The CDK context key the local runtime synthesizes with (`jobline dev`, local/synth.ts, local/app-synth.ts):
 * `true` bundles every jobline function with a source map next to it (no sources inside: only file names and
 * positions), so that a stack names the TypeScript file and line; the local execution environment turns
 * source maps on when it finds one (local/lambda/bootstrap.mjs). `cdk synth` and `cdk deploy` do not set it:
 * deployed bundles have no source map.
 */
export const LOCAL_DEBUG_CONTEXT = 'jobline:localDebug';

/** Whether a context value turns it on (`-c jobline:localDebug=true` gives the string). */
export function isLocalDebug(value: unknown): boolean {
  return value === true || value === 'true';
}
