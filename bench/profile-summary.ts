/**
 * Summarizes a V8 .cpuprofile (from `npm run bench -- --cpu-prof=DIR`): where the server's main
 * thread spent its time, by package / source file and by function, self and inclusive.
 *
 *   npx tsx bench/profile-summary.ts FILE.cpuprofile [--from=US --to=US] [--top=25] [--focus=TEXT]
 *
 * --from/--to restrict to samples in a CLOCK_MONOTONIC window in microseconds (the bench prints each
 * run's window as `profileWindowUs` when profiling), so setup work (sign-ups, migrations) is left out.
 * --focus=TEXT shows, for functions whose name or file contains TEXT, who calls them (inclusive time).
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const file = args.find((arg) => !arg.startsWith('--'));
if (!file) {
  console.error('usage: tsx bench/profile-summary.ts FILE.cpuprofile [--from=US --to=US] [--top=25] [--focus=TEXT]');
  process.exit(2);
}
const flag = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const from = Number(flag('from') ?? -Infinity);
const to = Number(flag('to') ?? Infinity);
const top = Number(flag('top') ?? 25);
const focus = flag('focus');

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

/** Where code comes from: an npm package, a file of ours, node internals, or V8's pseudo-frames. */
function area(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return `(${functionName || 'native'})`.replace(/^\(\((.*)\)\)$/, '($1)');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const ours = /\/(src|bench)\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  return url;
}
const functionKey = (frame: CallFrame) =>
  `${frame.functionName || '(anonymous)'}  ${area(frame)}:${frame.lineNumber + 1}`;

const selfByArea = new Map<string, number>();
const selfByFunction = new Map<string, number>();
const totalByFunction = new Map<string, number>();
const totalByArea = new Map<string, number>();
const callers = new Map<string, Map<string, number>>();
const add = (map: Map<string, number>, key: string, value: number) => map.set(key, (map.get(key) ?? 0) + value);

let time = profile.startTime;
let counted = 0;
let idle = 0;
for (let index = 0; index < profile.samples.length; index++) {
  time += profile.timeDeltas[index] ?? 0;
  if (time < from || time > to) continue;
  // A sample stands for the time until the next one.
  const weight = (profile.timeDeltas[index + 1] ?? 0) / 1000;
  const leaf = byId.get(profile.samples[index]!)!;
  if (leaf.callFrame.functionName === '(idle)') {
    idle += weight;
    continue;
  }
  counted += weight;
  add(selfByArea, area(leaf.callFrame), weight);
  add(selfByFunction, functionKey(leaf.callFrame), weight);
  const seenFunctions = new Set<string>();
  const seenAreas = new Set<string>();
  let previous: string | null = null;
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(root)') break;
    const key = functionKey(frame);
    if (!seenFunctions.has(key)) {
      seenFunctions.add(key);
      add(totalByFunction, key, weight);
    }
    const where = area(frame);
    if (!seenAreas.has(where)) {
      seenAreas.add(where);
      add(totalByArea, where, weight);
    }
    if (focus && previous !== null && previous.includes(focus) && !key.includes(focus)) {
      let map = callers.get(previous);
      if (!map) callers.set(previous, (map = new Map()));
      add(map, key, weight);
    }
    previous = key;
  }
}

const table = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  const rows = [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, ms] of rows) {
    console.log(`${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / counted).toFixed(1).padStart(5)}%  ${key}`);
  }
};

console.log(`${file}: ${counted.toFixed(0)} ms busy, ${idle.toFixed(0)} ms idle on the main thread in the window`);
table('Self time by package / file', selfByArea);
table('Inclusive time by package / file (any frame of it on the stack)', totalByArea);
table('Self time by function', selfByFunction);
table('Inclusive time by function', totalByFunction);
if (focus) {
  for (const [callee, map] of callers) {
    if (!callee.includes(focus)) continue;
    table(`Callers of ${callee} (first frame outside "${focus}")`, map);
  }
}
