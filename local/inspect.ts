/**
 * `jobline dev --inspect [PORT]`: each function's execution environment starts with Node's inspector on
 * 127.0.0.1 (never another address: a debugger runs any code), one port per function from PORT (default
 * 9229) on, in the template's order. A function then runs in one environment at a time, so its port is
 * always its one process's (a new one after a timeout or a crash, on the same port).
 */
import { probePort, type PortProbe } from './preflight';

export interface InspectOptions {
  host: string;
  /** The first function's port; the next function's is one more, and so on. */
  port: number;
}

/** Each function (by its runtime name) → its debugger port, port after port in the given order. */
export function inspectPorts(functionNames: readonly string[], options: InspectOptions): Map<string, number> {
  if (options.port + functionNames.length - 1 > 65_535)
    throw new Error(`--inspect ${options.port}: ${functionNames.length} functions need ports up to ${options.port + functionNames.length - 1}; give a lower port`);
  return new Map(functionNames.map((name, i) => [name, options.port + i]));
}

/** The Node options that start an environment with its debugger. */
export function inspectArgv(options: InspectOptions, port: number): string[] {
  return [`--inspect=${options.host}:${port}`];
}

/** Throws (with the port taken and a first port that would do) when a debugger port cannot be listened on. */
export async function checkInspectPorts(ports: ReadonlyMap<string, number>, options: InspectOptions, probe: PortProbe = probePort): Promise<void> {
  for (const [name, port] of ports) {
    if ((await probe(port, options.host)).free) continue;
    const count = ports.size;
    let suggestion = 0;
    for (let first = port + 1; first + count - 1 <= Math.min(65_535, port + 200) && suggestion === 0; first++) {
      const all = await Promise.all(Array.from({ length: count }, (_, i) => probe(first + i, options.host)));
      if (all.every((r) => r.free)) suggestion = first;
    }
    const fix = suggestion ? `: start with --inspect ${suggestion}` : '';
    throw new Error(`port ${port} (the debugger of ${name}, --inspect) is already in use${fix}`);
  }
}

/** What `jobline dev` prints: each function's debugger address, and how to attach. */
export function renderInspect(ports: ReadonlyMap<string, number>, options: InspectOptions, displayName: (functionName: string) => string = (n) => n): string[] {
  const rows = [...ports].map(([name, port]) => [displayName(name), `${options.host}:${port}`] as const);
  const width = Math.max(0, ...rows.map(([name]) => name.length));
  return [
    `debugger (--inspect): one environment per function, Node's inspector on`,
    ...rows.map(([name, address]) => `  ${name.padEnd(width)}  ${address}`),
    `attach: chrome://inspect (Configure... add each address), or VS Code "type": "node", "request": "attach", "port": <port>`,
    `a function paused at a breakpoint still times out at its timeout, as in Lambda`,
  ];
}
