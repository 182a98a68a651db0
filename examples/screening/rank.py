#!/usr/bin/python3
"""Ranks the library once every chunk is scored: the reduce job.

    rank.py <scores dir> <chunks> <top> <ranking.tsv>

Reads <scores dir>/scores-0000.tsv … (all of them must be there), sorts by score (highest
first; equal scores by id) and writes the best <top> to <ranking.tsv> with their rank.
"""
import os
import sys


def main():
    out, chunks, top, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rows, header = [], None
    for i in range(chunks):
        chunk_path = os.path.join(out, f"scores-{i:04d}.tsv")
        if not os.path.exists(chunk_path):
            raise SystemExit(f"rank.py: chunk {i} was not scored ({chunk_path} is missing)")
        with open(chunk_path) as f:
            header = f.readline().rstrip("\n").split("\t")
            rows += [dict(zip(header, l.rstrip("\n").split("\t"))) for l in f if l.strip()]
    rows.sort(key=lambda r: (-float(r["score"]), r["id"]))
    with open(path + ".part", "w") as f:
        f.write("rank\t" + "\t".join(header) + "\n")
        for n, r in enumerate(rows[:top], 1):
            f.write(f"{n}\t" + "\t".join(r[h] for h in header) + "\n")
    os.replace(path + ".part", path)
    print(f"ranked {len(rows)} molecules from {chunks} chunks; top {min(top, len(rows))} in {path}")
    for n, r in enumerate(rows[: min(top, 10)], 1):
        print(f"{n:3d}  {r['id']}  score {r['score']}  similarity {r['similarity']}  qed {r['qed']}  {r['smiles']}")


if __name__ == "__main__":
    main()
