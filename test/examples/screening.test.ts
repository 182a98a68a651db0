/**
 * The screening example (examples/screening/) at a small size, run as its README says:
 * run.sh against a server generates a seeded library, scores it in an array job and ranks it
 * in a dependent job. The ranking is checked against scores computed here, independently,
 * with RDKit on the same library file.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);
const example = fileURLToPath(new URL('../../../examples/screening/', import.meta.url));
const rdkit = spawnSync('/usr/bin/python3', ['-c', 'import rdkit'], { stdio: 'ignore' }).status === 0;

let t: TestServer | undefined;
after(async () => t?.close());

/** Scores every molecule of a library file: Morgan/Tanimoto to gefitinib, QED, Lipinski — written apart from score.py. */
const RECOMPUTE = `
import sys
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import AllChem, QED, Descriptors, Crippen, Lipinski
RDLogger.DisableLog("rdApp.*")
ref = AllChem.GetMorganFingerprintAsBitVect(Chem.MolFromSmiles("COc1cc2ncnc(Nc3ccc(F)c(Cl)c3)c2cc1OCCCN1CCOCC1"), 2, nBits=2048)
for line in open(sys.argv[1]):
    mol_id, smi = line.split()
    m = Chem.MolFromSmiles(smi)
    sim = DataStructs.TanimotoSimilarity(AllChem.GetMorganFingerprintAsBitVect(m, 2, nBits=2048), ref)
    bad = sum([Descriptors.MolWt(m) > 500, Crippen.MolLogP(m) > 5, Lipinski.NumHDonors(m) > 5, Lipinski.NumHAcceptors(m) > 10])
    print(mol_id, "%.4f" % (0.0 if bad > 1 else 0.7 * sim + 0.3 * QED.qed(m)))
`;

test('run.sh scores a seeded library in an array job and ranks it; the ranking is the right one for that library', { skip: rdkit ? false : 'RDKit is not installed (apt-get install python3-rdkit; scripts/ci/examples.sh)' }, async () => {
  const work = tempDir('openbatch-screening-');
  // The jobs mount the example (its scripts) and the run's directory: the server grants both.
  t = await startTestServer({ hostVolumeRoots: [example, work] });
  const env = { ...process.env, OPENBATCH_ENDPOINT: t.url, MOLECULES: '60', CHUNKS: '3', TOP: '10', SEED: '3', WORK: work };
  const out = await run(join(example, 'run.sh'), [], { env, timeout: 170_000 });
  assert.match(out.stdout, /ranked 60 molecules from 3 chunks; top 10/);

  const library = readFileSync(join(work, 'library.smi'), 'utf8');
  assert.equal(library.trim().split('\n').length, 60);
  // The same seed gives the same library; another seed another.
  const again = join(work, 'again.smi');
  await run('/usr/bin/python3', [join(example, 'library.py'), '--seed', '3', '--count', '60', '--out', again]);
  assert.equal(readFileSync(again, 'utf8'), library);
  await run('/usr/bin/python3', [join(example, 'library.py'), '--seed', '4', '--count', '60', '--out', again]);
  assert.notEqual(readFileSync(again, 'utf8'), library);

  const scores = (await run('/usr/bin/python3', ['-c', RECOMPUTE, join(work, 'library.smi')])).stdout
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .map(([id, s]) => ({ id, score: s }));
  const expected = scores.sort((a, b) => Number(b.score) - Number(a.score) || a.id.localeCompare(b.id)).slice(0, 10);

  const [header, ...rows] = readFileSync(join(work, 'ranking.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
  assert.deepEqual(header.slice(0, 3), ['rank', 'id', 'smiles']);
  const col = (name: string) => header.indexOf(name);
  assert.deepEqual(
    rows.map((r) => ({ rank: r[col('rank')], id: r[col('id')], score: r[col('score')] })),
    expected.map((e, i) => ({ rank: String(i + 1), ...e })),
  );
});
