/**
 * `jobline dashboard`: the web dashboard (dashboard/) for the target, served on 127.0.0.1 until Ctrl-C.
 * `jobline dev` serves one already; this one is for a deployed stack (--stack), or for a read-only view.
 */
import { startDashboard } from '../../dashboard/server/server';
import { CliError, EXIT } from '../exit';
import { colors, note } from '../output';
import type { Target } from '../target';

export interface DashboardOptions {
  port: number;
  host: string;
  readOnly?: boolean;
  maxPages: number;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

/** Serves the dashboard until SIGINT or SIGTERM; resolves then (the target is closed by the caller). */
export async function dashboard(target: Target, options: DashboardOptions, given: { port: boolean }): Promise<void> {
  const running = await startDashboard({
    target: () => target,
    host: options.host,
    port: options.port,
    anyPortIfTaken: !given.port,
    ...(options.readOnly ? { readOnly: true } : {}),
    maxPages: options.maxPages,
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new CliError(`port ${options.port} is already in use`, EXIT.failed, 'pass another --port (0: any free port)');
    if (error.code === 'EADDRNOTAVAIL') throw new CliError(`${options.host} is not an address of this machine`, EXIT.usage);
    throw error;
  });
  if (running.movedFrom !== undefined) note(`port ${running.movedFrom} is in use: the dashboard listens on ${running.port} instead`);
  console.log(`jobline dashboard: ${running.url}  (${target.label}${options.readOnly ? ', read-only' : ''})`);
  if (!LOOPBACK.test(options.host)) {
    note(
      colors.yellow(
        `note: listening on ${options.host}: whoever reaches it sees your jobs${options.readOnly ? '' : ' and can cancel and retry them with your credentials (--read-only refuses that)'}`,
      ),
    );
  }
  note('Ctrl-C stops it.');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
}
