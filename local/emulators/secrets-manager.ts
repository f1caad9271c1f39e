/**
 * An embedded Secrets Manager (GetSecretValue, DescribeSecret, ListSecrets), in memory, provisioned from
 * the template's AWS::SecretsManager::Secret resources: a SecretString as given, or one generated as
 * GenerateSecretString asks (length, excluded character classes and characters, a JSON template with a
 * generated key). Functions reach it through AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
import { randomInt } from 'node:crypto';
import type { RunningEmulator } from './dynamodb-local';
import { ServiceError, startJsonService } from './json-service';

export interface SecretSpec {
  name: string;
  arn: string;
  secretString: string;
}

export interface SecretsManagerEmulator extends RunningEmulator {
  put(secret: SecretSpec): void;
}

export interface GenerateSecretString {
  PasswordLength?: number;
  ExcludeCharacters?: string;
  ExcludeLowercase?: boolean;
  ExcludeUppercase?: boolean;
  ExcludeNumbers?: boolean;
  ExcludePunctuation?: boolean;
  IncludeSpace?: boolean;
  RequireEachIncludedType?: boolean;
  SecretStringTemplate?: string;
  GenerateStringKey?: string;
}

const CLASSES = {
  lower: 'abcdefghijklmnopqrstuvwxyz',
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  numbers: '0123456789',
  punctuation: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
};

/** A secret string as Secrets Manager's GetRandomPassword (and CloudFormation's GenerateSecretString) makes one. */
export function generateSecretString(options: GenerateSecretString = {}): string {
  const excluded = new Set(options.ExcludeCharacters ?? '');
  const classes = [
    options.ExcludeLowercase ? '' : CLASSES.lower,
    options.ExcludeUppercase ? '' : CLASSES.upper,
    options.ExcludeNumbers ? '' : CLASSES.numbers,
    options.ExcludePunctuation ? '' : CLASSES.punctuation,
    options.IncludeSpace ? ' ' : '',
  ]
    .map((chars) => [...chars].filter((c) => !excluded.has(c)).join(''))
    .filter((chars) => chars.length > 0);
  const alphabet = classes.join('');
  if (alphabet.length === 0) throw new Error('GenerateSecretString excludes every character');
  const length = options.PasswordLength ?? 32;
  for (;;) {
    const value = Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
    // RequireEachIncludedType defaults to true.
    if (options.RequireEachIncludedType === false || length < classes.length || classes.every((chars) => [...value].some((c) => chars.includes(c)))) {
      if (options.SecretStringTemplate && options.GenerateStringKey) {
        return JSON.stringify({ ...(JSON.parse(options.SecretStringTemplate) as object), [options.GenerateStringKey]: value });
      }
      return value;
    }
  }
}

export async function startSecretsManagerEmulator(options: { port?: number } = {}): Promise<SecretsManagerEmulator> {
  const secrets = new Map<string, SecretSpec & { created: number; version: string }>();
  const find = (id: unknown) => {
    const secret = [...secrets.values()].find((s) => s.arn === id || s.name === id || (typeof id === 'string' && s.arn.startsWith(`${id}-`)));
    if (!secret) throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  };
  const service = await startJsonService(
    'Secrets Manager',
    'secretsmanager',
    {
      GetSecretValue: ({ SecretId }) => {
        const s = find(SecretId);
        return { ARN: s.arn, Name: s.name, SecretString: s.secretString, VersionId: s.version, VersionStages: ['AWSCURRENT'], CreatedDate: s.created };
      },
      DescribeSecret: ({ SecretId }) => {
        const s = find(SecretId);
        return { ARN: s.arn, Name: s.name, CreatedDate: s.created, VersionIdsToStages: { [s.version]: ['AWSCURRENT'] } };
      },
      ListSecrets: () => ({ SecretList: [...secrets.values()].map((s) => ({ ARN: s.arn, Name: s.name, CreatedDate: s.created })) }),
    },
    options.port,
  );
  return {
    ...service,
    put: (secret) => secrets.set(secret.arn, { ...secret, created: Date.now() / 1000, version: crypto.randomUUID() }),
  };
}
