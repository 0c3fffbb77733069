/**
 * Preloaded into every child the benchmark starts (node --import). The benchmark gives each child
 * a stdin pipe it never writes to; when the benchmark dies, even by SIGKILL, the pipe closes and
 * the child shuts down instead of lingering as an orphan that holds a port and a database.
 */
const GRACE_MS = 5_000;

function parentGone(): void {
  process.kill(process.pid, 'SIGTERM');
  // In case the child's own SIGTERM handling hangs.
  setTimeout(() => process.exit(1), GRACE_MS).unref();
}

process.stdin.once('end', parentGone);
process.stdin.once('error', parentGone);
process.stdin.resume();
