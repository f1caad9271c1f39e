/**
 * Synthesizes the app of infra/app.ts for infra tests and reads what they check: the stack template, the
 * validation report (cdk-nag), and the rule acknowledgements recorded in the construct tree. Synthesis
 * bundles the functions with esbuild, so each test file does it once, in beforeAll.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Construct } from 'constructs';
import { buildApp, type AppOptions } from '../../app/app';
import type { JoblineStack } from '../../app/stack';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, any>;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

export interface ValidationReport {
  pluginReports: {
    pluginName: string;
    conclusion: 'success' | 'failure';
    violations: { ruleName: string; severity?: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

export interface BuiltApp {
  app: App;
  stack: JoblineStack;
  outdir: string;
  /** Removes the cloud assembly directory. */
  cleanup(): void;
}

/**
 * CDK context that skips asset bundling (CDK's own switch: no stack is bundled, each function gets a
 * placeholder asset): for tests that check the template and never read a function's code. Bundling the six
 * functions is most of a synth's time (about 4 of 5 s here).
 */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/**
 * buildApp() writing to a fresh temporary directory, without CloudFormation's own template validation;
 * `bundle: false` for a test that reads no function code (NO_BUNDLING).
 */
export function buildTestApp(options: Omit<AppOptions, 'outdir' | 'validateTemplates' | 'context'> & { bundle?: boolean } = {}): BuiltApp {
  const outdir = mkdtempSync(path.join(tmpdir(), 'jobline-infra-test-'));
  const cleanup = () => rmSync(outdir, { recursive: true, force: true });
  const { bundle = true, ...appOptions } = options;
  try {
    const { app, stack } = buildApp({ ...appOptions, outdir, validateTemplates: false, ...(bundle ? {} : { context: NO_BUNDLING }) });
    return { app, stack, outdir, cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}

export interface Synthesized extends BuiltApp {
  template: Template;
  json: CfnTemplate;
  report: ValidationReport;
}

/** Synthesizes the app (this runs the validation plugins, i.e. cdk-nag, and throws when they fail). */
export function synthesize(built: BuiltApp): Synthesized {
  built.app.synth();
  const template = Template.fromStack(built.stack);
  return { ...built, template, json: template.toJSON() as CfnTemplate, report: readValidationReport(built.outdir) };
}

export function readValidationReport(outdir: string): ValidationReport {
  return JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
}

export interface Acknowledgement {
  path: string;
  rule: string;
  reason: string;
}

/** Every rule acknowledgement (Validations.of(x).acknowledge) in the tree, with the construct it is on. */
export function acknowledgements(root: Construct): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== 'aws:cdk:acknowledged-rules') continue;
      for (const [rule, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        found.push({ path: construct.node.path, rule, reason: typeof reason === 'string' ? reason : JSON.stringify(reason) });
      }
    }
  }
  return found;
}

// ---- reading the template ------------------------------------------------------------------------------

export function resourcesOfType(json: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

export function resource(json: CfnTemplate, logicalId: string): CfnResource {
  const found = json.Resources[logicalId];
  if (!found) throw new Error(`no resource ${logicalId} in the template`);
  return found;
}

/** The logical id a value points to: { Ref: id } or { 'Fn::GetAtt': [id, attribute] }. */
export function targetOf(value: unknown): string | undefined {
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === 'string') return v.Ref;
    const getAtt = v['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  }
  return undefined;
}

/** Every logical id a value refers to, however deep (Ref, Fn::GetAtt, inside Fn::Join and the like). */
export function referencedIds(value: unknown, into: Set<string> = new Set()): Set<string> {
  const target = targetOf(value);
  if (target !== undefined && !target.startsWith('AWS::')) into.add(target);
  if (Array.isArray(value)) for (const v of value) referencedIds(v, into);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) referencedIds(v, into);
  return into;
}

export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

export const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The statements of every identity policy attached to a role (AWS::IAM::Policy and inline policies). */
export function roleStatements(json: CfnTemplate, roleId: string): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  for (const [, policy] of resourcesOfType(json, 'AWS::IAM::Policy')) {
    if (asList(policy.Properties?.Roles).some((r) => targetOf(r) === roleId)) statements.push(...asList<PolicyStatement>(policy.Properties?.PolicyDocument?.Statement));
  }
  for (const inline of asList<any>(resource(json, roleId).Properties?.Policies)) statements.push(...asList<PolicyStatement>(inline.PolicyDocument?.Statement));
  return statements;
}

/** What one job type's worker is made of, found from the wiring (event source, redrive), not from names. */
export interface WorkerResources {
  functionId: string;
  roleId: string;
  logGroupId: string;
  queueId: string;
  deadLetterQueueId: string;
  eventSourceMappingId: string;
}

export function workerOf(json: CfnTemplate, jobType: string): WorkerResources {
  const functions = resourcesOfType(json, 'AWS::Lambda::Function').filter(([, f]) => f.Properties?.Environment?.Variables?.JOBLINE_JOB_TYPE === jobType);
  if (functions.length !== 1) throw new Error(`expected one worker function for ${jobType}, found ${functions.length}`);
  const [functionId, fn] = functions[0]!;
  const mappings = resourcesOfType(json, 'AWS::Lambda::EventSourceMapping').filter(([, m]) => targetOf(m.Properties?.FunctionName) === functionId);
  if (mappings.length !== 1) throw new Error(`expected one event source mapping for ${functionId}, found ${mappings.length}`);
  const [eventSourceMappingId, mapping] = mappings[0]!;
  const queueId = targetOf(mapping.Properties?.EventSourceArn)!;
  const deadLetterQueueId = targetOf(resource(json, queueId).Properties?.RedrivePolicy?.deadLetterTargetArn)!;
  return {
    functionId,
    roleId: targetOf(fn.Properties?.Role)!,
    logGroupId: targetOf(fn.Properties?.LoggingConfig?.LogGroup)!,
    queueId,
    deadLetterQueueId,
    eventSourceMappingId,
  };
}

/** The API function: the one Lambda function that API Gateway integrations invoke. */
export function apiFunctionOf(json: CfnTemplate): { functionId: string; roleId: string; logGroupId: string } {
  const targets = new Set(resourcesOfType(json, 'AWS::ApiGatewayV2::Integration').map(([, i]) => targetOf(i.Properties?.IntegrationUri)));
  const functions = resourcesOfType(json, 'AWS::Lambda::Function').filter(([id]) => targets.has(id));
  if (functions.length !== 1) throw new Error(`expected one API function, found ${functions.length}`);
  const [functionId, fn] = functions[0]!;
  return { functionId, roleId: targetOf(fn.Properties?.Role)!, logGroupId: targetOf(fn.Properties?.LoggingConfig?.LogGroup)! };
}

/** The logical id of an output that CDK derived from an id like "QueueUrl-transfer". */
export const outputId = (id: string) => id.replace(/[^A-Za-z0-9]/g, '');
