/**
 * The shape DESIGN.md draws, checked on the source: SQL only in src/store/, the domain model
 * importing nothing of the rest, and no import cycles — between files, or between the
 * top-level modules (scheduler ↔ compute, api ↔ events, …). Type-only imports count: a cycle
 * of types is still two modules that cannot be read one without the other.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function sources(dir = SRC, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

const files = sources().map((path) => ({ path, name: relative(SRC, path), text: readFileSync(path, 'utf8') }));

/** Relative imports and re-exports of a file, as absolute .ts paths. */
function importsOf(f: { path: string; text: string }): string[] {
  const out: string[] = [];
  for (const m of f.text.matchAll(/^\s*(?:import|export)\s+[^'";]*?\bfrom\s+'(\.[^']+)'/gms)) out.push(resolve(dirname(f.path), m[1].replace(/\.js$/, '.ts')));
  return out;
}

/** The top-level module of a source file: its directory under src/, or the file itself. */
function moduleOf(path: string): string {
  const r = relative(SRC, path);
  return r.includes('/') ? r.split('/')[0] : r.replace(/\.ts$/, '');
}

/** Strongly connected components of more than one node (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** What talks to a database: Kysely, SQL text, prepared statements, a database driver. */
const DATABASE_ACCESS: { what: string; re: RegExp }[] = [
  { what: 'imports kysely', re: /from\s+'kysely'/ },
  { what: 'imports a database driver', re: /from\s+'(pg|better-sqlite3)'/ },
  { what: 'writes SQL (sql`…`)', re: /\bsql`/ },
  { what: 'builds a query', re: /\.(selectFrom|updateTable|insertInto|deleteFrom|executeQuery)\(/ },
  { what: 'prepares a statement', re: /\b(FixedStatement|InListStatement|CompiledQuery)\b|\.prepare\(\s*['"`]/ },
];

test('only src/store/ reaches the database', () => {
  const found: string[] = [];
  for (const f of files) {
    if (f.name.startsWith('store/')) continue;
    const code = f.text.replace(/^\s*(\/\/.*|\/?\*.*)$/gm, '');
    const what = DATABASE_ACCESS.filter((d) => d.re.test(code)).map((d) => d.what);
    if (what.length) found.push(`${f.name}: ${what.join(', ')}`);
  }
  assert.deepEqual(found, [], 'SQL and database access belong in src/store/, which answers with decoded, typed rows');
});

/** The JSON columns of the schema (src/store/schema.ts): the store decodes them, the rest of the code sees typed values. */
const JSON_COLUMNS = ['spec', 'tags', 'depends_on', 'consumables', 'compute_resources', 'extra', 'ce_order', 'time_limit_actions', 'fairshare_policy', 'provider_data', 'launch_template', 'wait_detail'];

test('only src/store/ decodes JSON columns', () => {
  const parse = new RegExp(`JSON\\.parse\\([^)]*\\.(${JSON_COLUMNS.join('|')})\\b`);
  const found = files
    .filter((f) => !f.name.startsWith('store/'))
    .flatMap((f) => [...(/\bfromJson\b/.test(f.text) ? ['fromJson'] : []), ...(parse.test(f.text) ? ['JSON.parse of a column'] : [])].map((w) => `${f.name}: ${w}`));
  assert.deepEqual(found, [], 'a JSON column is decoded by its store module (e.g. store/jobs.ts consumablesOf), once');
});

test('only src/store/ encodes JSON columns', () => {
  const stringify = new RegExp(`\\b(${JSON_COLUMNS.join('|')})\\s*:\\s*(?:[^,;]*\\?\\s*)?JSON\\.stringify\\(`);
  const found = files.filter((f) => !f.name.startsWith('store/') && (/\btoJson\b/.test(f.text) || stringify.test(f.text))).map((f) => f.name);
  assert.deepEqual(found, [], "code outside the store writes a JSON column's value, and its store module encodes it (store/json.ts WithValues)");
});

test('handlers and domain operations take the SDK types without casting through unknown', () => {
  // The one cast from a validated body to the SDK's request type is api/context.ts typed().
  const found = files.filter((f) => (f.name.startsWith('api/handlers/') || f.name.startsWith('domain/')) && /\bas unknown as\b/.test(f.text)).map((f) => f.name);
  assert.deepEqual(found, [], 'wrap the handler in typed<SdkRequest>() (api/context.ts) instead');
});

test('job status is written in one place: store/transitions.ts', () => {
  // An UPDATE of the jobs table that sets `status`, in SQL text or with Kysely's builder.
  const writes = [/UPDATE\s+"?jobs"?\s+SET\s(?:(?!WHERE)[^`'"])*\bstatus\s*=/i, /updateTable\('jobs'\)[\s\S]{0,200}?\.set\(\{[^}]*\bstatus\s*:/];
  const found = files.filter((f) => f.name !== 'store/transitions.ts' && writes.some((w) => w.test(f.text))).map((f) => f.name);
  assert.deepEqual(found, [], 'a status change is a transition applied by store/transitions.ts (docs/design/job-status.md)');
});

test('the domain model (src/model/) imports nothing of the rest of the system', () => {
  const found = files
    .filter((f) => f.name.startsWith('model/'))
    .flatMap((f) => importsOf(f).filter((to) => moduleOf(to) !== 'model').map((to) => `${f.name} → ${relative(SRC, to)}`));
  assert.deepEqual(found, []);
});

test('the store imports only the domain model', () => {
  const found = files
    .filter((f) => f.name.startsWith('store/'))
    .flatMap((f) => importsOf(f).filter((to) => !['model', 'store'].includes(moduleOf(to))).map((to) => `${f.name} → ${relative(SRC, to)}`));
  assert.deepEqual(found, []);
});

test('no import cycle between source files', () => {
  const graph = new Map(files.map((f) => [f.path, new Set(importsOf(f))]));
  assert.deepEqual(cycles(graph).map((c) => c.map((p) => relative(SRC, p)).join(' ↔ ')), []);
});

test('no import cycle between top-level modules (api, compute, scheduler, store, …)', () => {
  const graph = new Map<string, Set<string>>();
  const why = new Map<string, string>();
  for (const f of files) {
    const from = moduleOf(f.path);
    const deps = graph.get(from) ?? graph.set(from, new Set()).get(from)!;
    for (const to of importsOf(f)) {
      const m = moduleOf(to);
      if (m === from) continue;
      deps.add(m);
      if (!why.has(`${from}>${m}`)) why.set(`${from}>${m}`, `${f.name} → ${relative(SRC, to)}`);
    }
  }
  const found = cycles(graph).map((c) => c.join(' ↔ '));
  const examples = found.flatMap((c) => {
    const ms = c.split(' ↔ ');
    return ms.flatMap((a) => ms.filter((b) => why.has(`${a}>${b}`)).map((b) => why.get(`${a}>${b}`)!));
  });
  assert.deepEqual(found, [], `for example: ${examples.join('; ')}`);
});
