/**
 * The API's routes, shared by the router and infra/. One variable name per path level ({id}): HTTP APIs
 * refuse routes that name the same level differently. On the submit route the variable is the job type.
 */
export const ROUTES = {
  submit: 'POST /jobs/{id}',
  submitBatch: 'POST /jobs/{id}/batch',
  status: 'GET /jobs/{id}',
  list: 'GET /jobs',
  retry: 'POST /jobs/{id}/retry',
  cancel: 'POST /jobs/{id}/cancel',
  bulkCancel: 'POST /bulk/cancel',
  bulkRetry: 'POST /bulk/retry',
} as const;

/** A route as callers write it: the submit routes' `{id}` is the job type (banners and docs say `{type}`). */
export function routeAsDocumented(routeKey: string): string {
  return routeKey === ROUTES.submit || routeKey === ROUTES.submitBatch ? routeKey.replace('{id}', '{type}') : routeKey;
}
