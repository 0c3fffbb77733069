/**
 * Summarises a V8 CPU profile (node --cpu-prof, e.g. from `bench/messaging.ts --cpu-prof`):
 * where the busy time went by area (Parley's own code, each dependency, node internals, GC), the
 * functions with the most self time, and the Parley functions with the most inclusive time.
 * Usage: tsx bench/profile-summary.ts <file.cpuprofile> [--top N]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const IDLE = new Set(['(idle)', '(program)']);

/** Groups a frame: a dependency by package name, Parley by top folder, else node internals or V8. */
function areaOf(frame: ProfileNode['callFrame']): string {
  const url = frame.url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/(src|sdk|bench)\/(?:(modules|transport|storage)\/)?([^/]+)/.exec(url);
  if (own) return [own[1], own[2], own[3]].filter(Boolean).join('/');
  if (url.startsWith('node:')) return 'node internals';
  if (frame.functionName === '(garbage collector)') return 'GC';
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native/V8)';
  return url;
}

function label(frame: ProfileNode['callFrame']): string {
  const file = frame.url.replace(/^.*\/(node_modules|src|sdk|bench)\//, '$1/').replace(/^file:\/\//, '');
  // tsx's transpiled sources report line 1 for everything: a line number only where it means something.
  const line = frame.lineNumber > 0 ? `:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'} ${file}${line}`;
}

function top(map: Map<string, number>, n: number, total: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  const file = positionals[0];
  if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [--top N]');
  const n = Number(values.top);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfByFunction = new Map<string, number>();
  const selfByArea = new Map<string, number>();
  const inclusiveOwn = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const leaf = byId.get(id)!;
    if (IDLE.has(leaf.callFrame.functionName)) {
      idle += us;
      return;
    }
    busy += us;
    selfByFunction.set(label(leaf.callFrame), (selfByFunction.get(label(leaf.callFrame)) ?? 0) + us);
    const area = areaOf(leaf.callFrame);
    selfByArea.set(area, (selfByArea.get(area) ?? 0) + us);
    // Inclusive time of Parley's own functions, each counted once per sample even when recursive.
    const seen = new Set<string>();
    for (let node: ProfileNode | undefined = leaf; node; node = byId.get(parent.get(node.id) ?? -1)) {
      if (!/\/(src|sdk)\//.test(node.callFrame.url)) continue;
      const key = label(node.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusiveOwn.set(key, (inclusiveOwn.get(key) ?? 0) + us);
    }
  });

  const wall = (profile.endTime - profile.startTime) / 1000;
  console.log(`${file}\nwall ${(wall / 1000).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s (main thread)\n`);
  console.log('self time by area (% of busy):');
  console.log(top(selfByArea, n, busy).join('\n'));
  console.log('\nself time by function:');
  console.log(top(selfByFunction, n, busy).join('\n'));
  console.log('\ninclusive time of Parley functions (src/, sdk/):');
  console.log(top(inclusiveOwn, n, busy).join('\n'));
}

main();
