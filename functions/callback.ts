/** Lambda entry point of the callback worker: the callback queue in, signed POSTs out. */
import { createCallbackHandler } from '../shared/notify/callback-handler';

export const handler = createCallbackHandler();
