/**
 * Resolves the CloudFormation intrinsic functions a template uses in function environments and event
 * sources (Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Sub and the pseudo parameters) against the
 * resources the local runtime created.
 */
export interface PhysicalResource {
  /** What Ref returns (queue URL, table name, function name...). */
  ref: string;
  /** What Fn::GetAtt returns, by attribute name. */
  attributes: Record<string, string>;
}

export interface ResolveScope {
  resources: ReadonlyMap<string, PhysicalResource>;
  region: string;
  accountId: string;
}

export function resolveValue(value: unknown, scope: ResolveScope, where = 'value'): string {
  const resolved = resolve(value, scope, where);
  if (typeof resolved !== 'string' && typeof resolved !== 'number' && typeof resolved !== 'boolean') {
    throw new Error(`${where}: expected a string, got ${JSON.stringify(resolved)}`);
  }
  return String(resolved);
}

function pseudo(name: string, scope: ResolveScope): string | undefined {
  switch (name) {
    case 'AWS::Region':
      return scope.region;
    case 'AWS::AccountId':
      return scope.accountId;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return 'local';
    case 'AWS::NoValue':
      return '';
    default:
      return undefined;
  }
}

function physical(logicalId: string, scope: ResolveScope, where: string): PhysicalResource {
  const resource = scope.resources.get(logicalId);
  if (!resource) throw new Error(`${where}: refers to ${logicalId}, which the local runtime does not provide`);
  return resource;
}

function resolve(value: unknown, scope: ResolveScope, where: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v, i) => resolve(v, scope, `${where}[${i}]`));
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length !== 1) return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v, scope, `${where}.${k}`)]));
  const [fn, arg] = entries[0]!;
  switch (fn) {
    case 'Ref': {
      const name = String(arg);
      return pseudo(name, scope) ?? physical(name, scope, where).ref;
    }
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
      const resource = physical(logicalId!, scope, where);
      const result = resource.attributes[attribute!];
      if (result === undefined) throw new Error(`${where}: ${logicalId}.${attribute} is not provided locally`);
      return result;
    }
    case 'Fn::Join': {
      const [separator, parts] = arg as [string, unknown[]];
      return (resolve(parts, scope, where) as unknown[]).map(String).join(separator);
    }
    case 'Fn::Select': {
      const [index, list] = arg as [unknown, unknown];
      return (resolve(list, scope, where) as unknown[])[Number(resolve(index, scope, where))];
    }
    case 'Fn::Split': {
      const [separator, text] = arg as [string, unknown];
      return String(resolve(text, scope, where)).split(separator);
    }
    case 'Fn::Sub': {
      const [text, variables] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (name in variables) return String(resolve(variables[name], scope, where));
        const p = pseudo(name, scope);
        if (p !== undefined) return p;
        const [logicalId, attribute] = name.split('.');
        const resource = physical(logicalId!, scope, where);
        return attribute ? (resource.attributes[attribute] ?? '') : resource.ref;
      });
    }
    default:
      if (fn.startsWith('Fn::')) throw new Error(`${where}: ${fn} is not supported by the local runtime`);
      return { [fn]: resolve(arg, scope, `${where}.${fn}`) };
  }
}
