/**
 * Reads the synthesized CDK app (cdk.out): the stack's template and where each function's bundled code is.
 * This is the single source of truth of the local runtime: what runs locally is what `cdk deploy` deploys.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DependsOn?: string | string[];
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

export interface StackArtifact {
  stackName: string;
  template: CfnTemplate;
  /** The directory of the cloud assembly (cdk.out), against which asset paths resolve. */
  assemblyDir: string;
}

interface Manifest {
  artifacts?: Record<string, { type: string; displayName?: string; properties?: { templateFile?: string } }>;
}

/** The stacks of a cloud assembly; `stackName` picks one when there are several. */
export function readStack(assemblyDir: string, stackName?: string): StackArtifact {
  const manifestFile = path.join(assemblyDir, 'manifest.json');
  if (!existsSync(manifestFile)) throw new Error(`no cloud assembly in ${assemblyDir}: run npx cdk synth`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
  const stacks = Object.entries(manifest.artifacts ?? {}).filter(([, a]) => a.type === 'aws:cloudformation:stack');
  const chosen = stackName ? stacks.find(([id, a]) => id === stackName || a.displayName === stackName) : stacks[0];
  if (!chosen) throw new Error(`stack ${stackName ?? ''} not found in ${assemblyDir}; it has: ${stacks.map(([id]) => id).join(', ')}`);
  if (!stackName && stacks.length > 1) throw new Error(`${assemblyDir} has several stacks (${stacks.map(([id]) => id).join(', ')}): name one`);
  const [id, artifact] = chosen;
  const templateFile = path.join(assemblyDir, artifact.properties?.templateFile ?? `${id}.template.json`);
  return { stackName: id, template: JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate, assemblyDir };
}

export function resourcesOfType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/**
 * The file and export of a function's handler in its bundled asset, e.g. Handler "index.handler" and an
 * asset holding index.mjs → (asset/index.mjs, "handler").
 */
export function functionCode(stack: StackArtifact, logicalId: string): { file: string; exportName: string; codeDir: string } {
  const resource = stack.template.Resources[logicalId];
  const assetPath = resource?.Metadata?.['aws:asset:path'];
  const handler = resource?.Properties?.Handler;
  if (typeof assetPath !== 'string' || typeof handler !== 'string') {
    throw new Error(`function ${logicalId} has no bundled asset in ${stack.assemblyDir} (only NodejsFunction-style assets are supported locally)`);
  }
  const codeDir = path.join(stack.assemblyDir, assetPath);
  const dot = handler.lastIndexOf('.');
  const base = handler.slice(0, dot);
  const exportName = handler.slice(dot + 1);
  const file = ['.mjs', '.js', '.cjs'].map((ext) => path.join(codeDir, base + ext)).find((f) => existsSync(f));
  if (!file) throw new Error(`function ${logicalId}: no ${base}.mjs/.js/.cjs in ${codeDir}`);
  return { file, exportName, codeDir };
}
