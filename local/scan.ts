/** Every item a Scan returns, page after page (the local runtime's views and the chaos suite read whole tables). */
import { ScanCommand, type AttributeValue, type DynamoDBClient, type ScanCommandInput } from '@aws-sdk/client-dynamodb';

export async function* scanItems(client: DynamoDBClient, input: ScanCommandInput): AsyncGenerator<Record<string, AttributeValue>> {
  let startKey: ScanCommandInput['ExclusiveStartKey'];
  do {
    const page = await client.send(new ScanCommand({ ...input, ExclusiveStartKey: startKey }));
    yield* page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}
