/**
 * The `jobline` command (the package's bin; `npm run jobline --` in this repository). `jobline dev` runs the
 * current directory's CDK app locally (local/dev.ts) and `jobline new job <name>` writes a job type
 * (local/scaffold.ts), each parsing its own options as before; every other command is the operator's
 * (cli/main.ts): jobs, submit, stats, dlq. `jobline --help` lists them all; exit codes in cli/exit.ts.
 */
// `jobline ... | head`: a reader that stops early is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const [command, ...rest] = process.argv.slice(2);
if (command === 'dev') {
  const { dev } = await import('../local/dev');
  await dev(rest);
} else if (command === 'new') {
  const { newCommand } = await import('../local/scaffold');
  process.exitCode = newCommand(rest);
} else {
  const { main } = await import('./main');
  process.exitCode = await main(process.argv.slice(2));
}

export {};
