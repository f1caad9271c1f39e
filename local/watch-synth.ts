/**
 * Watch mode's synthesis of this repository's own app, in a process of its own (local/watch.ts starts it):
 * a module, once imported, is never imported again with its new source, and aws-cdk-lib keeps bundled assets
 * per process. The same synthesis as `npm start`'s (local/synth.ts ensureAssembly), forced, into the assembly
 * directory given as the argument.
 */
import { ensureAssembly } from './synth';

const made = await ensureAssembly({ assemblyDir: process.argv[2], force: true });
console.log(`synthesized ${made.assemblyDir}`);
