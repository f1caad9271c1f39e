/**
 * The target of the end-to-end suite. With JOBLINE_API_URL it is that API (deployed or LocalStack); the
 * DLQ check then needs JOBLINE_WEBHOOK_DLQ_URL (a stack output) and AWS credentials. Without it, the
 * local runtime is started here on the embedded emulators, exactly as `npm start` runs.
 */
import type { TestProject } from 'vitest/node';
import { jobTypesOf } from '../../local/live-view';
import { startLocalRuntime } from '../../local/runtime';

declare module 'vitest' {
  export interface ProvidedContext {
    target: { apiUrl: string; local: boolean; webhookDlqUrl?: string; sqsEndpoint?: string; region: string };
  }
}

export default async function setup(project: TestProject) {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  if (process.env.JOBLINE_API_URL) {
    project.provide('target', { apiUrl: process.env.JOBLINE_API_URL.replace(/\/$/, ''), local: false, webhookDlqUrl: process.env.JOBLINE_WEBHOOK_DLQ_URL, region });
    return;
  }
  const runtime = await startLocalRuntime({ port: 0, endpoint: undefined, endpoints: {}, onEvent: (m) => console.log(`[local runtime] ${m}`) });
  const webhook = jobTypesOf(runtime).find((t) => t.type === 'webhook');
  project.provide('target', { apiUrl: runtime.apiUrl, local: true, webhookDlqUrl: webhook?.dlqUrl, sqsEndpoint: runtime.endpoints.sqs, region: runtime.region });
  return () => runtime.stop();
}
