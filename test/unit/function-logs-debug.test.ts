// Debugging a function locally: `jobline dev --inspect [PORT]` (local/preflight.ts, local/inspect.ts) gives
// each function a debugger port on the loopback address, and a job's failure is logged with the frames of
// its stack, never with the message a payload could be quoted in (shared/worker/outcome.ts).
import { describe, expect, it } from 'vitest';
import { checkInspectPorts, inspectArgv, inspectPorts, renderInspect } from '../../local/inspect';
import { parseInspect, parseStartArgs, usage, type PortProbe } from '../../local/preflight';
import { PermanentError } from '../../shared/errors';
import { failureOutcome, stackOf } from '../../shared/worker/outcome';

const optionsOf = (argv: string[]) => {
  const parsed = parseStartArgs(argv, {});
  if (parsed.kind !== 'run') throw new Error(JSON.stringify(parsed));
  return parsed.options;
};

describe('--inspect', () => {
  it('is off unless given; alone it starts at 9229; a port or 127.0.0.1:port moves it', () => {
    expect(optionsOf([]).inspect).toBeUndefined();
    expect(optionsOf(['--inspect']).inspect).toEqual({ host: '127.0.0.1', port: 9229 });
    expect(optionsOf(['--inspect', '--synth'])).toMatchObject({ inspect: { host: '127.0.0.1', port: 9229 }, synth: true });
    expect(optionsOf(['--inspect', '9300']).inspect).toEqual({ host: '127.0.0.1', port: 9300 });
    expect(optionsOf(['--inspect=9300']).inspect).toEqual({ host: '127.0.0.1', port: 9300 });
    expect(optionsOf(['--inspect=127.0.0.1:9300']).inspect).toEqual({ host: '127.0.0.1', port: 9300 });
    expect(optionsOf(['--inspect=localhost:9300']).inspect).toEqual({ host: '127.0.0.1', port: 9300 });
  });

  it('listens on the loopback address only, and needs a real port', () => {
    for (const value of ['0.0.0.0:9229', '192.168.1.2:9229', '[::]:9229']) {
      expect(parseStartArgs([`--inspect=${value}`], {})).toEqual({ kind: 'error', message: expect.stringContaining('127.0.0.1 only') });
    }
    for (const value of ['0', '70000', 'abc']) expect(parseStartArgs([`--inspect=${value}`], {})).toEqual({ kind: 'error', message: expect.stringContaining('takes a port') });
    expect(parseInspect('')).toEqual({ host: '127.0.0.1', port: 9229 });
  });

  it('is in the usage', () => {
    expect(usage()).toMatch(/^ {2}--inspect \[PORT\] +start each function's environment with a debugger on 127\.0\.0\.1/m);
  });

  it('one port per function, in order, from the first; Node starts each environment with its own', () => {
    const ports = inspectPorts(['api', 'transfer', 'webhook'], { host: '127.0.0.1', port: 9229 });
    expect(ports).toEqual(
      new Map([
        ['api', 9229],
        ['transfer', 9230],
        ['webhook', 9231],
      ]),
    );
    expect(inspectArgv({ host: '127.0.0.1', port: 9229 }, 9230)).toEqual(['--inspect=127.0.0.1:9230']);
    expect(() => inspectPorts(['a', 'b'], { host: '127.0.0.1', port: 65_535 })).toThrow(/give a lower port/);
    const said = renderInspect(ports, { host: '127.0.0.1', port: 9229 }, (name) => `${name}-log`);
    expect(said).toContain('  transfer-log  127.0.0.1:9230');
    expect(said.join('\n')).toContain('chrome://inspect');
  });

  it('a debugger port in use stops the start, with a first port whose run of ports is free', async () => {
    const taken = new Set([9230, 9233]);
    const probe: PortProbe = (port) => Promise.resolve(taken.has(port) ? { free: false, code: 'EADDRINUSE' } : { free: true });
    const ports = inspectPorts(['api', 'transfer', 'webhook'], { host: '127.0.0.1', port: 9229 });
    await expect(checkInspectPorts(ports, { host: '127.0.0.1', port: 9229 }, probe)).rejects.toThrow(
      'port 9230 (the debugger of transfer, --inspect) is already in use: start with --inspect 9234',
    );
    await expect(checkInspectPorts(inspectPorts(['api'], { host: '127.0.0.1', port: 9300 }), { host: '127.0.0.1', port: 9300 }, probe)).resolves.toBeUndefined();
  });
});

describe("a failed job's stack", () => {
  const binding = { jobId: 'job-1', type: 'webhook', payloadHash: 'h', generation: 1 };

  it('is the frames only: the message (which may quote a payload) stays in the reason', () => {
    const error = new Error('bad account SECRET-42');
    error.stack = 'Error: bad account SECRET-42\n  with a second line SECRET-42\n    at charge (/app/jobs/transfer/handler.ts:12:11)\n    at async run (/app/shared/run.ts:3:1)';
    expect(stackOf(error)).toBe('at charge (/app/jobs/transfer/handler.ts:12:11)\nat async run (/app/shared/run.ts:3:1)');
    expect(stackOf('a string')).toBeUndefined();
    expect(stackOf(Object.assign(new Error('x'), { stack: 'Error: x' }))).toBeUndefined();
  });

  it('goes with the outcome of a retried or a permanent failure', () => {
    const transient = failureOutcome(new Error('busy'), { binding, countAttempt: true });
    expect(transient).toMatchObject({ kind: 'retry', stack: expect.stringMatching(/^at .*function-logs-debug\.test\.ts:\d+:\d+/) });
    const permanent = failureOutcome(new PermanentError('no such account'), { binding, countAttempt: true });
    expect(permanent).toMatchObject({ kind: 'dead-letter', stack: expect.stringMatching(/function-logs-debug\.test\.ts:\d+:\d+/) });
    expect(JSON.stringify(permanent)).not.toContain('PermanentError: no such account\\n');
  });
});
