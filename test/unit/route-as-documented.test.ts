import { describe, expect, it } from 'vitest';
import { ROUTES, routeAsDocumented } from '../../shared/api/routes';

describe('routeAsDocumented', () => {
  it('names the submit routes’ path variable as the job type, as the docs do', () => {
    expect(routeAsDocumented(ROUTES.submit)).toBe('POST /jobs/{type}');
    expect(routeAsDocumented(ROUTES.submitBatch)).toBe('POST /jobs/{type}/batch');
  });
  it('leaves the routes whose variable is a job id as they are', () => {
    expect(routeAsDocumented(ROUTES.status)).toBe('GET /jobs/{id}');
    expect(routeAsDocumented(ROUTES.retry)).toBe('POST /jobs/{id}/retry');
  });
});
