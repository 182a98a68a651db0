/**
 * The analytics example (examples/analytics/) at a small size, run as its README says: run.sh
 * generates two desks' trades, each desk's array computes per-partition transaction costs and
 * its report merges them, both desks sharing 2 vCPUs through a fair-share policy. The reports'
 * totals are recomputed here from the trade files and the market file; and the second desk's
 * children do not wait for the whole of the first desk's array.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { DescribeJobsCommand } from '@aws-sdk/client-batch';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);
const example = fileURLToPath(new URL('../../../examples/analytics/', import.meta.url));
const python = spawnSync('/usr/bin/python3', ['-c', 'pass'], { stdio: 'ignore' }).status === 0;

let t: TestServer | undefined;
after(async () => t?.close());

function csv(path: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

test('run.sh: per-partition transaction costs merged into each desk report, totals matching the trades; both desks progress together', { skip: python ? false : 'no /usr/bin/python3' }, async () => {
  const work = tempDir('openbatch-analytics-');
  // The jobs mount the example (its scripts) and the run's directory: the server grants both.
  t = await startTestServer({ hostVolumeRoots: [example, work] });
  const P = 4;
  const env = { ...process.env, OPENBATCH_ENDPOINT: t.url, ORDERS: '60', PARTITIONS: String(P), SEED: '2', WORK: work };
  const out = await run(join(example, 'run.sh'), [], { env, timeout: 170_000 });

  const price = new Map<string, number>();
  const volume = new Map<string, number>();
  for (const r of csv(join(work, 'market.csv'))) {
    price.set(`${r.symbol}/${r.minute}`, Number(r.price));
    volume.set(`${r.symbol}/${r.minute}`, Number(r.volume));
  }
  for (const desk of ['equities', 'etf']) {
    const fills = Array.from({ length: P }, (_, i) => csv(join(work, desk, `trades-${String(i).padStart(4, '0')}.csv`))).flat();
    const want = { orders: new Set(fills.map((f) => f.order_id)).size, fills: fills.length, shares: 0, notional: 0, shortfall: 0, vwap_slippage: 0 };
    const vwapOf = new Map<string, number>();
    for (const f of fills) {
      const qty = Number(f.qty);
      const p = Number(f.price);
      const side = Number(f.side);
      if (!vwapOf.has(f.order_id)) {
        let pv = 0;
        let v = 0;
        for (let m = Number(f.order_start); m <= Number(f.order_end); m++) {
          pv += price.get(`${f.symbol}/${m}`)! * volume.get(`${f.symbol}/${m}`)!;
          v += volume.get(`${f.symbol}/${m}`)!;
        }
        vwapOf.set(f.order_id, pv / v);
      }
      want.shares += qty;
      want.notional += qty * p;
      want.shortfall += side * qty * (p - price.get(`${f.symbol}/${f.order_start}`)!);
      want.vwap_slippage += side * qty * (p - vwapOf.get(f.order_id)!);
    }
    assert.equal(want.orders, 60);
    // run.sh says where the report is on this host (the job's log says where it wrote it, in its sandbox)
    assert.ok(out.stdout.includes(`${desk} report: ${join(work, desk, 'report.json')}\n`), out.stdout);
    const report = JSON.parse(readFileSync(join(work, desk, 'report.json'), 'utf8')) as Record<string, number>;
    assert.equal(report.orders, want.orders, desk);
    assert.equal(report.fills, want.fills, desk);
    assert.equal(report.shares, want.shares, desk);
    for (const k of ['notional', 'shortfall', 'vwap_slippage'] as const) assert.ok(close(report[k], want[k]), `${desk} ${k}: report ${report[k]}, trades ${want[k]}`);
    assert.ok(close(report.shortfall_bps, (want.shortfall / want.notional) * 1e4));
    assert.match(out.stdout, new RegExp(`desk ${desk}: 60 orders, ${want.fills} fills`));
  }

  // Fair share: the desk submitted second starts before the first desk's array has all started.
  const ids = Object.fromEntries([...out.stdout.matchAll(/^job (tca-\w+): submitted \(([^,)]+)/gm)].map((m) => [m[1], m[2]]));
  const starts = async (id: string) => {
    const res = await t!.client.send(new DescribeJobsCommand({ jobs: Array.from({ length: P }, (_, i) => `${id}:${i}`) }));
    return res.jobs!.map((j) => j.startedAt!);
  };
  const first = await starts(ids['tca-equities']);
  const second = await starts(ids['tca-etf']);
  assert.ok(Math.min(...second) < Math.max(...first), `etf's first child started at ${Math.min(...second)}, after every equities child had (last at ${Math.max(...first)})`);
});
