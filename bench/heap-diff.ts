/**
 * Compares two V8 heap snapshots (from `npm run bench` memory with `--heap-snapshots=DIR`): the
 * growth from the first to the second by kind of object (constructor, closure name, strings,
 * arrays…), self sizes summed, divided by `--per` (the sockets opened between them).
 *
 *   npx tsx bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--per=10000] [--top=40]
 */
import { readFileSync } from 'node:fs';
import { option } from './stats.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** With --retainers, each kind is also told apart by the kind of its first strong retainer. */
const byRetainer = process.argv.includes('--retainers');

/** Kind → [count, self bytes]. Plain objects are named by constructor, closures by function. */
function tally(path: string): Map<string, [number, number]> {
  const heap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field)) as [number, number, number];
  const kindOf = (node: number) => {
    const type = types[heap.nodes[node + typeAt]!]!;
    const named = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden' || type === 'array' || type === 'code';
    return named ? `${type} ${heap.strings[heap.nodes[node + nameAt]!]!.slice(0, 60)}` : type;
  };
  const retainer = new Map<number, number>();
  if (byRetainer) {
    const edgeFields = heap.snapshot.meta.edge_fields;
    const edgeTypes = heap.snapshot.meta.edge_types[0];
    const [edgeTypeAt, toAt] = ['type', 'to_node'].map((field) => edgeFields.indexOf(field)) as [number, number];
    const countAt = fields.indexOf('edge_count');
    let edge = 0;
    for (let node = 0; node < heap.nodes.length; node += fields.length) {
      for (let k = 0; k < heap.nodes[node + countAt]!; k++, edge += edgeFields.length) {
        const edgeType = edgeTypes[heap.edges[edge + edgeTypeAt]!];
        const to = heap.edges[edge + toAt]!;
        if (edgeType !== 'weak' && edgeType !== 'shortcut' && !retainer.has(to)) retainer.set(to, node);
      }
    }
  }
  const kinds = new Map<string, [number, number]>();
  for (let node = 0; node < heap.nodes.length; node += fields.length) {
    const parent = retainer.get(node);
    const kind = parent === undefined ? kindOf(node) : `${kindOf(node)} ← ${kindOf(parent)}`;
    const entry = kinds.get(kind) ?? [0, 0];
    entry[0]++;
    entry[1] += heap.nodes[node + sizeAt]!;
    kinds.set(kind, entry);
  }
  return kinds;
}

const [beforePath, afterPath] = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
if (!beforePath || !afterPath) throw new Error('usage: heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--per=N] [--top=N]');
const per = Number(option('per', '1'));
const top = Number(option('top', '40'));
const before = tally(beforePath);
const after = tally(afterPath);
const growth = [...after]
  .map(([kind, [count, bytes]]) => {
    const [countBefore, bytesBefore] = before.get(kind) ?? [0, 0];
    return { kind, count: (count - countBefore) / per, bytes: (bytes - bytesBefore) / per };
  })
  .sort((a, b) => b.bytes - a.bytes);
const total = growth.reduce((sum, row) => sum + row.bytes, 0);
process.stdout.write(`total growth per unit: ${(total / 1024).toFixed(1)} kB\n`);
for (const row of growth.slice(0, top)) {
  process.stdout.write(`${row.bytes.toFixed(0).padStart(8)} B ${row.count.toFixed(2).padStart(8)} × ${row.kind}\n`);
}
