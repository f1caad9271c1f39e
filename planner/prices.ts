/**
 * The on-demand prices `jobline plan` costs a workload with: us-east-1, as AWS listed them on the date below,
 * without free tiers or savings plans. Dated, because prices change: the plan prints the date beside its
 * figures. Sources: aws.amazon.com/lambda/pricing, /sqs/pricing, /dynamodb/pricing/on-demand,
 * /api-gateway/pricing, /eventbridge/pricing.
 */
export const PRICES = {
  asOf: '2026-11-01',
  region: 'us-east-1',
  /** Lambda on arm64 (jobline's functions are arm64): per GB-second of duration, per million requests. */
  lambdaArmGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  /** SQS per million requests (each 64 KB of a request's payload is a request). */
  sqsStandardPerMillion: 0.4,
  sqsFifoPerMillion: 0.5,
  /** DynamoDB on-demand, per million write and read request units. */
  dynamoPerMillionWrites: 0.625,
  dynamoPerMillionReads: 0.125,
  /** API Gateway HTTP API, per million requests (the first 300 million a month). */
  httpApiPerMillion: 1.0,
  /** EventBridge custom events, per million (each 64 KB counts as one). */
  eventBridgePerMillion: 1.0,
} as const;

/** A month as AWS bills it: 730 hours. */
export const SECONDS_PER_MONTH = 730 * 3600;
