#!/usr/bin/python3
"""Scores one chunk of the library against the target: one array child's work.

    score.py <library.smi> <chunk index> <chunks> <out dir>

Child i takes the lines [i·n/chunks, (i+1)·n/chunks) of the library and writes
<out dir>/scores-<i>.tsv. The score is ligand-based virtual screening, not docking: how
much a molecule resembles a known binder of the target, and how drug-like it is —

    similarity  Tanimoto similarity of Morgan fingerprints (radius 2, 2048 bits) to the
                reference ligand, gefitinib, an EGFR kinase inhibitor
    qed         RDKit's quantitative estimate of drug-likeness (0..1)
    score       0.7·similarity + 0.3·qed, or 0 when the molecule breaks more than one of
                Lipinski's rules (MW ≤ 500, logP ≤ 5, H-bond donors ≤ 5, acceptors ≤ 10)

Deterministic: the same library gives the same scores, whatever the number of chunks.
"""
import os
import sys

from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import QED, Crippen, Descriptors, Lipinski, rdFingerprintGenerator

RDLogger.DisableLog("rdApp.*")
REFERENCE = "COc1cc2ncnc(Nc3ccc(F)c(Cl)c3)c2cc1OCCCN1CCOCC1"  # gefitinib
FINGERPRINT = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def score(smiles, reference_fp):
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    similarity = DataStructs.TanimotoSimilarity(FINGERPRINT.GetFingerprint(mol), reference_fp)
    qed = QED.qed(mol)
    mw, logp = Descriptors.MolWt(mol), Crippen.MolLogP(mol)
    hbd, hba = Lipinski.NumHDonors(mol), Lipinski.NumHAcceptors(mol)
    violations = (mw > 500) + (logp > 5) + (hbd > 5) + (hba > 10)
    total = 0.0 if violations > 1 else 0.7 * similarity + 0.3 * qed
    return similarity, qed, mw, logp, hbd, hba, violations, total


def main():
    library, index, chunks, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    with open(library) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    lo, hi = index * len(lines) // chunks, (index + 1) * len(lines) // chunks
    ref = FINGERPRINT.GetFingerprint(Chem.MolFromSmiles(REFERENCE))
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"scores-{index:04d}.tsv")
    with open(path + ".part", "w") as f:
        f.write("id\tsmiles\tsimilarity\tqed\tmw\tlogp\thbd\thba\tlipinski_violations\tscore\n")
        for mol_id, smi in lines[lo:hi]:
            r = score(smi, ref)
            if r is None:
                print(f"{mol_id}: SMILES does not parse: {smi}", file=sys.stderr)
                continue
            s, q, mw, logp, hbd, hba, v, total = r
            f.write(f"{mol_id}\t{smi}\t{s:.4f}\t{q:.4f}\t{mw:.2f}\t{logp:.2f}\t{hbd}\t{hba}\t{v}\t{total:.4f}\n")
    os.replace(path + ".part", path)  # the ranking never reads half a chunk
    print(f"chunk {index}/{chunks}: scored molecules {lo + 1}-{hi} into {path}")


if __name__ == "__main__":
    main()
