/**
 * The SQS commands the worker sends, re-exported from one module so the bundler keeps only these of the
 * SQS client (a namespace import would keep all of them). The worker imports this module dynamically, on
 * its failure paths only, so a cold start that never fails does not evaluate it.
 */
export { ChangeMessageVisibilityBatchCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
