/**
 * The API's routes, shared by the router and infra/. One variable name per path level ({id}): HTTP APIs
 * refuse routes that name the same level differently. On the submit route the variable is the job type.
 */
export const ROUTES = { submit: 'POST /jobs/{id}', status: 'GET /jobs/{id}', retry: 'POST /jobs/{id}/retry' } as const;
