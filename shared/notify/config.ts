/** The environment variables of the notifier and the callback worker (infra/job-notifier.ts sets them). */
export const NOTIFY_ENV = {
  /** The event bus the notifier puts each terminal state's event on (name or ARN). */
  eventBus: 'JOBLINE_EVENT_BUS',
  /** The callback queue; unset: callbacks are off. */
  callbackQueueUrl: 'JOBLINE_CALLBACK_QUEUE_URL',
  callbackDeadLetterQueueUrl: 'JOBLINE_CALLBACK_DLQ_URL',
  /** The Secrets Manager secret (ARN or name) whose SecretString signs the callbacks. */
  callbackSecret: 'JOBLINE_CALLBACK_SECRET',
  callbackMaxAttempts: 'JOBLINE_CALLBACK_MAX_ATTEMPTS',
  callbackBackoffBaseSeconds: 'JOBLINE_CALLBACK_BACKOFF_BASE_SECONDS',
  callbackBackoffMaxSeconds: 'JOBLINE_CALLBACK_BACKOFF_MAX_SECONDS',
  callbackTimeoutSeconds: 'JOBLINE_CALLBACK_TIMEOUT_SECONDS',
} as const;
