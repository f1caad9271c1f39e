// The emulators send nothing off this machine. DynamoDB Local sends telemetry to AWS unless told not to:
// started without the switch, it looked up its host through this machine's resolver (a DNS query off
// loopback, seen with `strace -f -e trace=connect`).
import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';

describe('DynamoDB Local, as jobline starts it', () => {
  it('runs with its telemetry off', () => {
    const commandLine = readFileSync(`/proc/${inject('dynamodbPid')}/cmdline`, 'utf8').split('\0');
    expect(commandLine).toContain('-disableTelemetry');
  });
});
