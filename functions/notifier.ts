/** Lambda entry point of the notifier: the jobs table's stream (terminal transitions only) in, events and callback messages out. */
import { createNotifierHandler } from '../shared/notify/notifier-handler';

export const handler = createNotifierHandler();
