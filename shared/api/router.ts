/**
 * The API function's routes. API Gateway matches the route and passes its key and path parameters;
 * anything else that reaches the function is answered 404 or 405 here, never 5xx.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { reasonOf } from '../errors';
import { problem, type ApiResponse } from './http';
import { bulkRoute, cancelRoute, listRoute, retryRoute } from './lifecycle';
import { isServiceFailure } from './service-failure';
import { jobStatus } from './status';
import { submitJob, type SubmitDeps } from './submit';
import { submitBatch } from './submit-batch';

import { ROUTES } from './routes';

export { ROUTES } from './routes';

export async function route(event: APIGatewayProxyEventV2, deps: SubmitDeps): Promise<ApiResponse> {
  try {
    switch (event.routeKey) {
      case ROUTES.submit:
        return await submitJob(event, event.pathParameters?.id, deps);
      case ROUTES.submitBatch:
        return await submitBatch(event, event.pathParameters?.id, deps);
      case ROUTES.status:
        return await jobStatus(event, event.pathParameters?.id, deps.store);
      case ROUTES.retry:
        return await retryRoute(event, event.pathParameters?.id, deps);
      case ROUTES.cancel:
        return await cancelRoute(event, event.pathParameters?.id, deps);
      case ROUTES.list:
        return await listRoute(event, deps);
      case ROUTES.bulkCancel:
        return await bulkRoute(event, 'cancel', deps);
      case ROUTES.bulkRetry:
        return await bulkRoute(event, 'retry', deps);
      default: {
        const path = event.rawPath ?? '';
        if (/^\/jobs\/[^/]+\/?$/.test(path)) {
          return problem(405, 'method_not_allowed', 'use POST /jobs/{type} to submit and GET /jobs/{id} to read', undefined, { allow: 'GET, POST' });
        }
        return problem(404, 'not_found', `no such route: the API has ${Object.values(ROUTES).join(', ')}`);
      }
    }
  } catch (error) {
    if (isServiceFailure(error)) {
      // DynamoDB or SQS unavailable or throttled: nothing was promised to the client, who may retry.
      deps.log.error('request failed: the job store or queue is unavailable', { routeKey: event.routeKey, reason: reasonOf(error) });
      return problem(503, 'unavailable', 'the job store or queue is unavailable; retry shortly', undefined, { 'retry-after': '1' });
    }
    deps.log.error('request failed', { routeKey: event.routeKey, reason: reasonOf(error) });
    return problem(500, 'internal_error', 'the request failed unexpectedly');
  }
}
