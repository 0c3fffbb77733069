import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

/**
 * CPU accounting for a phase, from /proc on Linux: the server and the load generator share the
 * machine's cores, and other people's processes may too, so every result says who used what.
 */

/** CPU use during a window as % of one core; `rest` is everything else on the machine. */
export interface CpuShares {
  cores: number;
  server: number | undefined;
  loadGenerator: number;
  rest: number | undefined;
}

export interface CpuSnapshot {
  at: number;
  server: number | undefined;
  self: NodeJS.CpuUsage;
  machine: { busy: number; total: number } | undefined;
}

// Kernel clock ticks per second for /proc times; 100 on every mainstream Linux build.
const CLK_TCK = 100;

/** Cumulative user+system CPU seconds of process `pid`, or undefined where /proc is missing. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes the command name: state is [0], utime [11], stime [12].
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

export function cpuSnapshot(serverCpuSeconds: (() => number | undefined) | undefined): CpuSnapshot {
  return { at: performance.now(), server: serverCpuSeconds?.(), self: process.cpuUsage(), machine: machineCpuTicks() };
}

export function cpuShares(a: CpuSnapshot, b: CpuSnapshot): CpuShares {
  const wallS = (b.at - a.at) / 1000;
  const pct = (seconds: number) => (100 * seconds) / wallS;
  const loadGenerator = pct((b.self.user - a.self.user + b.self.system - a.self.system) / 1e6);
  const server = a.server !== undefined && b.server !== undefined ? pct(b.server - a.server) : undefined;
  const cores = availableParallelism();
  let rest: number | undefined;
  if (a.machine && b.machine) {
    const busyShare = (b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total);
    rest = Math.max(0, busyShare * cores * 100 - (server ?? 0) - loadGenerator);
  }
  return { cores, server, loadGenerator, rest };
}

/** Busy and total jiffies over all cores, from the first line of /proc/stat. */
function machineCpuTicks(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((x, y) => x + y, 0);
    const idle = fields[3]! + fields[4]!;
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * Waits (up to `maxWaitS`) until processes other than ours use less than `thresholdPct` of a core,
 * sampled over 2 s. The machine is shared: a phase measured while someone else's test suite runs
 * says more about them than about the server. Returns the last reading of that other load.
 */
export async function waitForQuietMachine(serverCpuSeconds: (() => number | undefined) | undefined, maxWaitS: number, log: (line: string) => void, thresholdPct = 30): Promise<number | undefined> {
  const deadline = performance.now() + maxWaitS * 1000;
  let announced = false;
  for (;;) {
    const before = cpuSnapshot(serverCpuSeconds);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const other = cpuShares(before, cpuSnapshot(serverCpuSeconds)).rest;
    if (other === undefined || other < thresholdPct) return other;
    if (performance.now() > deadline) {
      log(`machine still busy (other processes use ${Math.round(other)}% of a core) after ${maxWaitS} s: measuring anyway`);
      return other;
    }
    if (!announced) log(`other processes use ${Math.round(other)}% of a core: waiting up to ${maxWaitS} s for a quieter machine`);
    announced = true;
  }
}

/**
 * Cumulative CPU seconds of a set of processes that changes while we watch (PostgreSQL backends
 * come and go with the server's connection pool). A process seen for the first time adds all its
 * CPU so far; one that exited adds nothing more. So the figure never goes backwards, and the
 * difference between two calls is the CPU those processes used in between, short of what an
 * exiting process used in its last moments.
 */
export function cumulativeCpuSeconds(listPids: () => number[]): () => number {
  const lastSeen = new Map<number, number>();
  let total = 0;
  return () => {
    for (const pid of listPids()) {
      const seconds = processCpuSeconds(pid);
      if (seconds === undefined) continue;
      total += seconds - (lastSeen.get(pid) ?? 0);
      lastSeen.set(pid, seconds);
    }
    return total;
  };
}

/** Pids of the processes whose command line contains `text` (Linux /proc; empty elsewhere). */
export function pidsWithCommandLine(text: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // The process exited meanwhile.
    }
  }
  return pids;
}
