// Source maps are for the local runtime only: `cdk synth` (and so `cdk deploy`) bundles every function without
// one, as before; the local runtime's synthesis (local/synth.ts, CDK context jobline:localDebug) puts a map
// next to each bundle, without the sources in it, and changes nothing else in the template.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAssembly } from '../../local/synth';
import { buildTestApp, resourcesOfType, type BuiltApp, type CfnTemplate } from '../support/cdk-synth';

let deployed: BuiltApp;
let deployedTemplate: CfnTemplate;
let localDir: string;
let localTemplate: CfnTemplate;

beforeAll(async () => {
  deployed = buildTestApp();
  deployed.app.synth();
  deployedTemplate = JSON.parse(readFileSync(path.join(deployed.outdir, 'Jobline.template.json'), 'utf8')) as CfnTemplate;
  localDir = (await ensureAssembly({ assemblyDir: mkdtempSync(path.join(tmpdir(), 'jobline-local-synth-')), force: true })).assemblyDir;
  localTemplate = JSON.parse(readFileSync(path.join(localDir, 'Jobline.template.json'), 'utf8')) as CfnTemplate;
}, 300_000);
afterAll(() => {
  deployed?.cleanup();
  if (localDir) rmSync(localDir, { recursive: true, force: true });
});

/** Each function's bundle directory in the assembly. */
const bundles = (outdir: string, template: CfnTemplate) =>
  resourcesOfType(template, 'AWS::Lambda::Function').map(([, r]) => path.join(outdir, String((r as { Metadata?: Record<string, unknown> }).Metadata?.['aws:asset:path'])));

describe('source maps', () => {
  it('are not in the bundles cdk synth makes for a deployment', () => {
    const dirs = bundles(deployed.outdir, deployedTemplate);
    expect(dirs.length).toBeGreaterThanOrEqual(4);
    for (const dir of dirs) {
      expect(readdirSync(dir).filter((f) => f.endsWith('.map'))).toEqual([]);
      expect(readFileSync(path.join(dir, 'index.mjs'), 'utf8')).not.toContain('sourceMappingURL');
    }
  });

  it('are next to every bundle the local runtime synthesizes, naming the TypeScript sources without their contents', () => {
    for (const dir of bundles(localDir, localTemplate)) {
      const map = JSON.parse(readFileSync(path.join(dir, 'index.mjs.map'), 'utf8')) as { sources: string[]; sourcesContent?: unknown };
      expect(readFileSync(path.join(dir, 'index.mjs'), 'utf8')).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
      expect(map.sourcesContent).toBeUndefined();
      const own = map.sources.filter((s) => /(^|\/)(shared|app|functions)\/.+\.ts$/.test(s));
      expect(own.length).toBeGreaterThan(0);
      // Relative to the map, they resolve to this repository's files.
      for (const source of own) expect(existsSync(path.resolve(dir, source)), source).toBe(true);
    }
  });

  it('change nothing else: the templates are the same but for the bundles they name', () => {
    const withoutAssetHashes = (t: CfnTemplate) => JSON.stringify(t).replace(/[0-9a-f]{64}/g, '<asset>');
    expect(withoutAssetHashes(localTemplate)).toBe(withoutAssetHashes(deployedTemplate));
  });
});
