/** Builds the callback worker from its environment once per execution environment (functions/callback.ts). */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSEvent } from 'aws-lambda';
import { ENV, numberEnv, requireEnv } from '../config';
import { createLogger } from '../log';
import { createMetrics } from '../metrics';
import { allowFromEnv } from '../net/address-guard';
import { delayRetries, sendToDeadLetterQueue } from '../worker/queue-actions';
import { deliverCallbacks, type CallbackWorkerDeps } from './callback-worker';
import { NOTIFY_ENV } from './config';

export function callbackDepsFromEnv(env: NodeJS.ProcessEnv = process.env): CallbackWorkerDeps {
  const secretId = requireEnv(NOTIFY_ENV.callbackSecret, env);
  const queueUrl = requireEnv(NOTIFY_ENV.callbackQueueUrl, env);
  const dlqUrl = requireEnv(NOTIFY_ENV.callbackDeadLetterQueueUrl, env);
  let cached: Promise<string> | undefined;
  return {
    secret: () => {
      cached ??= new SecretsManagerClient({})
        .send(new GetSecretValueCommand({ SecretId: secretId }))
        .then(({ SecretString }) => {
          if (!SecretString) throw new Error(`secret ${secretId} has no SecretString`);
          return SecretString;
        })
        .catch((error: unknown) => {
          cached = undefined;
          throw error;
        });
      return cached;
    },
    allow: () => allowFromEnv(env),
    maxAttempts: numberEnv(NOTIFY_ENV.callbackMaxAttempts, 12, env, 1),
    backoff: { baseSeconds: numberEnv(NOTIFY_ENV.callbackBackoffBaseSeconds, 5, env), maxSeconds: numberEnv(NOTIFY_ENV.callbackBackoffMaxSeconds, 3600, env) },
    timeoutMs: numberEnv(NOTIFY_ENV.callbackTimeoutSeconds, 10, env, 1) * 1000,
    deadLetter: (letters) => sendToDeadLetterQueue(dlqUrl, false, letters),
    delay: (delays) => delayRetries(queueUrl, delays),
    log: createLogger({ component: 'callback' }),
    metrics: createMetrics({ namespace: env[ENV.metricsNamespace] }),
  };
}

export function createCallbackHandler(deps: CallbackWorkerDeps = callbackDepsFromEnv()) {
  return (event: SQSEvent) => deliverCallbacks(event, deps);
}
