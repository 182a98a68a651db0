#!/usr/bin/python3
"""A day of trades for two desks, partitioned for the array job. Deterministic (seeded).

    generate.py --seed 5 --orders 400 --partitions 8 --out work

Writes
    work/market.csv                       symbol,minute,price,volume — one row per symbol
                                          and minute of the session (390 minutes)
    work/<desk>/trades-0000.csv …         order_id,desk,symbol,side,order_start,order_end,
                                          minute,qty,price — one row per fill; all fills
                                          of an order are in the same partition
for the desks "equities" and "etf". Prices follow a random walk per symbol; an order is
worked from order_start to order_end (minutes) in a few fills, each paying a small impact.
"""
import argparse
import math
import os
import random

DESKS = {"equities": ["AAPL", "MSFT", "NVDA", "AMZN", "JPM", "XOM", "PFE", "KO"], "etf": ["SPY", "QQQ", "IWM", "EFA", "TLT", "GLD"]}
MINUTES = 390


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--orders", type=int, default=400, help="orders per desk")
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    rnd = random.Random(a.seed)

    market = {}
    with open(os.path.join(a.out, "market.csv"), "w") as f:
        f.write("symbol,minute,price,volume\n")
        for sym in sorted(s for syms in DESKS.values() for s in syms):
            price = rnd.uniform(20, 600)
            for m in range(MINUTES):
                price *= math.exp(rnd.gauss(0, 0.0008))
                u = (m - MINUTES / 2) / (MINUTES / 2)
                volume = int(rnd.lognormvariate(8, 0.5) * (1 + 1.5 * u * u))  # busier at the open and close
                market[sym, m] = round(price, 4)
                f.write(f"{sym},{m},{market[sym, m]:.4f},{volume}\n")

    for desk, symbols in DESKS.items():
        d = os.path.join(a.out, desk)
        os.makedirs(d, exist_ok=True)
        files = [open(os.path.join(d, f"trades-{i:04d}.csv"), "w") for i in range(a.partitions)]
        for f in files:
            f.write("order_id,desk,symbol,side,order_start,order_end,minute,qty,price\n")
        for n in range(a.orders):
            order_id = f"{desk[:2].upper()}{n:06d}"
            sym, side = rnd.choice(symbols), rnd.choice([1, -1])
            start = rnd.randrange(0, MINUTES - 60)
            end = start + rnd.randrange(10, 60)
            fills = rnd.randrange(1, 9)
            minutes = sorted(rnd.randrange(start, end + 1) for _ in range(fills))
            for m in minutes:
                qty = 100 * rnd.randrange(1, 50)
                impact = abs(rnd.gauss(0.0002, 0.0003))  # the price moves against us
                price = round(market[sym, m] * (1 + side * impact), 4)
                files[n % a.partitions].write(f"{order_id},{desk},{sym},{side},{start},{end},{m},{qty},{price:.4f}\n")
        for f in files:
            f.close()


if __name__ == "__main__":
    main()
