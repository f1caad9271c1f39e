/** Lambda entry point of the HTTP API: POST /jobs/{type} and GET /jobs/{id}. */
import { createApiHandler } from '../shared/api/handler';

export const handler = createApiHandler();
