#!/usr/bin/python3
"""A deterministic library of small drug-like molecules, as SMILES.

Molecules are enumerated from eight scaffolds (anilinoquinazolines like the EGFR inhibitors,
benzamides, ureas, sulfonamides, …), each with two substituent positions filled from fixed
lists, then sampled with a seeded random generator: the same seed and count always give the
same library, in the same order. No RDKit needed here (the scoring job uses it).

    library.py --seed 7 --count 500 --out library.smi      # "<id>\t<smiles>" per line
"""
import argparse
import random

# {A}: an amine or aryl group; {B}: a substituent on the scaffold's ring. Ring-closure digits
# 8 and 9 are the substituents', 1-3 the scaffolds', so they never clash.
SCAFFOLDS = [
    "COc1cc2ncnc(N{A})c2cc1{B}",        # 4-anilinoquinazoline (gefitinib's core)
    "c1cc2c(N{A})ncnc2cc1{B}",          # quinazoline without the methoxy
    "c1cc2c(N{A})ncnc2n1{B}",           # pyrido-pyrimidine-like
    "O=C(N{A})c1ccc({B})cc1",           # benzamide
    "{A}NC(=O)Nc1ccc({B})cc1",          # diaryl urea
    "{A}S(=O)(=O)Nc1ccc({B})cc1",       # sulfonamide
    "Cc1ccc(NC(=O){A})cc1{B}",          # anilide
    "{A}c1nc(N)c2cc({B})ccc2n1",        # 2-aryl-4-aminoquinazoline
]
A = [
    "c8ccc(F)c(Cl)c8", "c8ccccc8", "c8ccc(Br)cc8", "c8cccc(C#C)c8", "C8CCCCC8", "c8ccncc8",
    "c8ccc(OC)cc8", "c8ccc(C(F)(F)F)cc8", "c8ccc(F)cc8", "c8cccc(Cl)c8", "c8ccc9[nH]ccc9c8", "CC8CC8",
]
B = [
    "OCCCN9CCOCC9", "OC", "OCCN(C)C", "F", "Cl", "C(N)=O", "OCCOC", "N9CCN(C)CC9", "C", "C#N",
]


def all_molecules():
    """Every molecule of the space, in a fixed order."""
    return [s.replace("{A}", a).replace("{B}", b) for s in SCAFFOLDS for a in A for b in B]


def generate(seed, count):
    space = all_molecules()
    if count > len(space):
        raise SystemExit(f"library.py: --count is at most {len(space)} (the size of the space)")
    picked = random.Random(seed).sample(space, count)
    return [(f"MOL{n:05d}", smi) for n, smi in enumerate(picked, 1)]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    with open(a.out, "w") as f:
        for mol_id, smi in generate(a.seed, a.count):
            f.write(f"{mol_id}\t{smi}\n")


if __name__ == "__main__":
    main()
