// Runs in a fresh `node` process: imports one worker bundle (its init code runs, its handler does not)
// and prints how long that took. performance.now() counts from the process's start (timeOrigin), so
// `sinceSpawnMs` is spawn to import resolved; `importMs` is the import alone.
const before = performance.now();
await import(process.argv[2]);
const after = performance.now();
process.stdout.write(JSON.stringify({ sinceSpawnMs: after, importMs: after - before }));
