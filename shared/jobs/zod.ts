/**
 * The schema library of job types is zod's mini build (`import * as z from 'zod/mini'`), with its English
 * messages, configured here once. Payloads are validated in the API and in every worker, so the schema
 * library is in both bundles: zod/mini adds about 30 KB to a minified bundle, where the classic `zod`
 * import adds about 450 KB (measured with esbuild), and module init time grows with it. Keep the
 * namespace import local to each module (never re-export it) so the bundler can drop what is unused.
 * Any zod schema works as a job type's schema, classic or mini.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export type { $ZodType as Schema, output as Infer } from 'zod/v4/core';
