#!/usr/bin/python3
"""Merges a desk's partition metrics into its report: the dependent job.

    report.py <desk dir> <partitions>

Writes <desk dir>/report.json (the totals, in $ and in bps of notional, and the five orders
that cost the most) and prints it as a table.
"""
import json
import os
import sys


def main():
    desk_dir, parts = sys.argv[1], int(sys.argv[2])
    metrics = []
    for i in range(parts):
        path = os.path.join(desk_dir, f"metrics-{i:04d}.json")
        if not os.path.exists(path):
            raise SystemExit(f"report.py: partition {i} has no metrics ({path} is missing)")
        with open(path) as f:
            metrics.append(json.load(f))
    total = {k: sum(m[k] for m in metrics) for k in ("orders", "fills", "shares", "notional", "shortfall", "vwap_slippage")}
    total["shortfall_bps"] = total["shortfall"] / total["notional"] * 1e4 if total["notional"] else 0
    total["vwap_slippage_bps"] = total["vwap_slippage"] / total["notional"] * 1e4 if total["notional"] else 0
    worst = sorted((o for m in metrics for o in m["by_order"]), key=lambda o: (-o["shortfall"], o["order_id"]))[:5]
    report = {"desk": os.path.basename(os.path.normpath(desk_dir)), "partitions": parts, **total, "worst_orders": worst}
    path = os.path.join(desk_dir, "report.json")
    with open(path + ".part", "w") as f:
        json.dump(report, f, indent=2)
    os.replace(path + ".part", path)
    print(f"desk {report['desk']}: {total['orders']} orders, {total['fills']} fills, {total['shares']:,} shares, notional ${total['notional']:,.2f}")
    print(f"  implementation shortfall ${total['shortfall']:,.2f} ({total['shortfall_bps']:.2f} bps)")
    print(f"  VWAP slippage            ${total['vwap_slippage']:,.2f} ({total['vwap_slippage_bps']:.2f} bps)")
    for o in worst:
        print(f"  {o['order_id']} {o['symbol']:5} {'buy ' if o['side'] > 0 else 'sell'} {o['shares']:>7,} shares  shortfall ${o['shortfall']:>10,.2f} ({o['shortfall_bps']:.1f} bps)")
    print(f"report: {path}")


if __name__ == "__main__":
    main()
