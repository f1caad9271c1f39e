import { describe, expect, it } from 'vitest';
import { dynamoDbLocalArguments } from '../../local/emulators/dynamodb-local';

describe('the java arguments of DynamoDB Local', () => {
  it('name the port and the storage, turn telemetry off and choose the serial collector', () => {
    const inMemory = dynamoDbLocalArguments({ port: 4567 }, {});
    expect(inMemory).toEqual(expect.arrayContaining(['-port', '4567', '-inMemory', '-sharedDb', '-disableTelemetry', '-XX:+UseSerialGC']));
    const onDisk = dynamoDbLocalArguments({ port: 4567, dbPath: '/tmp/db' }, {});
    expect(onDisk.slice(onDisk.indexOf('-dbPath'))).toContain('/tmp/db');
    expect(onDisk).not.toContain('-inMemory');
  });

  it("leave the collector to the user's JAVA_TOOL_OPTIONS when it names one (two collectors stop java)", () => {
    expect(dynamoDbLocalArguments({ port: 1 }, { JAVA_TOOL_OPTIONS: '-Xmx2g -XX:+UseG1GC' })).not.toContain('-XX:+UseSerialGC');
    expect(dynamoDbLocalArguments({ port: 1 }, { JDK_JAVA_OPTIONS: '-XX:+UseZGC' })).not.toContain('-XX:+UseSerialGC');
    expect(dynamoDbLocalArguments({ port: 1 }, { JAVA_TOOL_OPTIONS: '-Xmx2g' })).toContain('-XX:+UseSerialGC');
  });
});
