#!/usr/bin/python3
"""Transaction-cost metrics of one partition of a desk's trades: one array child's work.

    tca.py <market.csv> <desk dir> <partition>

Reads <desk dir>/trades-<partition>.csv, writes <desk dir>/metrics-<partition>.json. For
each order (side = +1 buy, -1 sell; qty-weighted over its fills):

    arrival price     the market price at the minute the order started
    interval VWAP     the market's volume-weighted price over the order's minutes
    shortfall $       side × Σ qty × (fill price − arrival price)   (implementation shortfall)
    VWAP slippage $   side × Σ qty × (fill price − interval VWAP)
    bps               the $ figure over the order's notional (Σ qty × fill price) × 10,000

Positive numbers are costs. The partition's totals are sums, so partitions merge by adding.
"""
import csv
import json
import os
import sys


def main():
    market_path, desk_dir, part = sys.argv[1], sys.argv[2], int(sys.argv[3])
    price, volume = {}, {}
    with open(market_path) as f:
        for r in csv.DictReader(f):
            key = (r["symbol"], int(r["minute"]))
            price[key], volume[key] = float(r["price"]), int(r["volume"])
    orders = {}
    with open(os.path.join(desk_dir, f"trades-{part:04d}.csv")) as f:
        for r in csv.DictReader(f):
            o = orders.setdefault(r["order_id"], {"order_id": r["order_id"], "symbol": r["symbol"], "side": int(r["side"]), "start": int(r["order_start"]), "end": int(r["order_end"]), "fills": []})
            o["fills"].append((int(r["qty"]), float(r["price"])))
    rows = []
    for o in orders.values():
        sym, side = o["symbol"], o["side"]
        arrival = price[sym, o["start"]]
        minutes = range(o["start"], o["end"] + 1)
        vwap = sum(price[sym, m] * volume[sym, m] for m in minutes) / sum(volume[sym, m] for m in minutes)
        shares = sum(q for q, _ in o["fills"])
        notional = sum(q * p for q, p in o["fills"])
        shortfall = side * sum(q * (p - arrival) for q, p in o["fills"])
        slippage = side * sum(q * (p - vwap) for q, p in o["fills"])
        rows.append({"order_id": o["order_id"], "symbol": sym, "side": side, "fills": len(o["fills"]), "shares": shares, "notional": notional,
                     "arrival": arrival, "interval_vwap": vwap, "shortfall": shortfall, "vwap_slippage": slippage,
                     "shortfall_bps": shortfall / notional * 1e4, "vwap_slippage_bps": slippage / notional * 1e4})
    out = {
        "partition": part,
        "orders": len(rows),
        "fills": sum(r["fills"] for r in rows),
        "shares": sum(r["shares"] for r in rows),
        "notional": sum(r["notional"] for r in rows),
        "shortfall": sum(r["shortfall"] for r in rows),
        "vwap_slippage": sum(r["vwap_slippage"] for r in rows),
        "by_order": rows,
    }
    path = os.path.join(desk_dir, f"metrics-{part:04d}.json")
    with open(path + ".part", "w") as f:
        json.dump(out, f)
    os.replace(path + ".part", path)
    print(f"partition {part}: {out['orders']} orders, {out['fills']} fills, shortfall ${out['shortfall']:,.2f}")


if __name__ == "__main__":
    main()
