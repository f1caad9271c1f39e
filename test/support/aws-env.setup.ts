// Every test process talks to the emulators through the SDK's standard endpoint variables, exactly as the
// functions do in AWS. The credentials are placeholders: the emulators accept any.
import { inject } from 'vitest';

process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'local';
process.env.AWS_SECRET_ACCESS_KEY = 'local';
process.env.AWS_ENDPOINT_URL_DYNAMODB = inject('dynamodbEndpoint');
process.env.AWS_ENDPOINT_URL_SQS = inject('sqsEndpoint');
process.env.JOBLINE_LOG_LEVEL ??= 'warn';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.JOBLINE_WEBHOOK_ALLOW ??= 'loopback'; // the webhook receivers of the tests listen on loopback
