// The import graph of src/ (and bench/): no circles, folders depend one way, src/ never imports bench/, and
// the core entry (src/index.ts, the package's main export) reaches nothing from Node.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');

/** Folder ranks: a file may import only from its own folder or from folders of a lower rank. */
const RANK: Record<string, number> = {
  util: 0,
  io: 1,
  engine: 1,
  nn: 2,
  laurel: 3,
  models: 4,
  data: 4,
  train: 5,
  experiments: 6,
  cli: 7,
  '.': 8, // src/index.ts, src/node.ts, src/cli.ts
};

interface Edge {
  to: string;
  typeOnly: boolean;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT =
  /(?:^|\n)\s*(import|export)(\s+type)?\s[^'";]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)|(?:^|\n)\s*import\s*'([^']+)'/g;

/** Every import of a file: relative ones resolved to paths, others kept as specifiers. */
function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const out: Edge[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[3] ?? m[4] ?? m[5];
    const to = spec.startsWith('.') ? resolve(dirname(file), spec) : spec;
    out.push({ to, typeOnly: m[2] !== undefined });
  }
  return out;
}

const src = files(join(ROOT, 'src'));
const bench = files(join(ROOT, 'bench'));
const graph = new Map([...src, ...bench].map((f) => [f, importsOf(f)]));
const rel = (f: string) => relative(ROOT, f);
const folder = (f: string) => {
  const parts = relative(join(ROOT, 'src'), f).split('/');
  return parts.length === 1 ? '.' : parts[0];
};

test('the import graph is read: every relative import names an existing file', () => {
  assert.ok(src.length > 50);
  for (const [f, edges] of graph)
    for (const e of edges)
      if (e.to.startsWith('/'))
        assert.ok(graph.has(e.to) || statSync(e.to, { throwIfNoEntry: false }), `${rel(f)} → ${e.to}`);
});

/** The import circles through src/, as `a → b → a` (withTypes: type-only imports count too, since they tie files). */
function circles(withTypes: boolean): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const { to, typeOnly } of graph.get(f) ?? []) {
      if (!to.startsWith(join(ROOT, 'src')) || (typeOnly && !withTypes)) continue;
      if (state.get(to) === 'open') found.push([...stack.slice(stack.indexOf(to)), to].map(rel).join(' → '));
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of src) if (!state.has(f)) visit(f);
  return found;
}

test('no import circles in src/: none at run time, and none through type-only imports', () => {
  assert.deepEqual(circles(false), []);
  assert.deepEqual(circles(true), []);
});

test('folders depend one way (util ← engine, io ← nn ← laurel ← models, data ← train ← experiments ← cli) and src/ never imports bench/', () => {
  const bad: string[] = [];
  for (const f of src) {
    const from = folder(f);
    assert.ok(from in RANK, `${rel(f)}: folder ${from} has no rank in this test`);
    for (const { to } of graph.get(f) ?? []) {
      if (!to.startsWith('/')) continue;
      if (!to.startsWith(join(ROOT, 'src'))) {
        bad.push(`${rel(f)} → ${rel(to)} (outside src/)`);
        continue;
      }
      const into = folder(to);
      if (into !== from && RANK[into] >= RANK[from]) bad.push(`${rel(f)} (${from}) → ${rel(to)} (${into})`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the core entry (src/index.ts) reaches no node: module and no process', () => {
  const seen = new Set<string>();
  const bad: string[] = [];
  const walk = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    if (/\bprocess\./.test(readFileSync(f, 'utf8'))) bad.push(`${rel(f)} uses process`);
    for (const { to, typeOnly } of graph.get(f) ?? []) {
      if (typeOnly) continue;
      if (to.startsWith('node:') || ['fs', 'path', 'os', 'url', 'module', 'child_process'].includes(to))
        bad.push(`${rel(f)} imports ${to}`);
      else if (to.startsWith('/')) walk(to);
      else if (!to.startsWith('@tensorflow/tfjs')) bad.push(`${rel(f)} imports the package ${to}`);
    }
  };
  walk(join(ROOT, 'src/index.ts'));
  assert.ok(seen.has(join(ROOT, 'src/laurel/layers/laurel-layer.ts')));
  assert.deepEqual(bad, []);
});
