import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileGlob } from '../../src/triggers/glob.js';

test('compileGlob: base directory, depth and matches', () => {
  const cases: [string, string, number, string[], string[]][] = [
    ['/in/*.txt', '/in', 1, ['a.txt'], ['a.csv', 'sub/a.txt', '.a.txt']],
    ['/in/**/*.pov', '/in', Infinity, ['a.pov', 'x/y/a.pov'], ['a.txt', '.x/a.pov', 'x/.a.pov']],
    ['/in/scene-?.{pov,ini}', '/in', 1, ['scene-1.pov', 'scene-2.ini'], ['scene-10.pov', 'scene-1.txt']],
    ['/in/[ab]*/*.csv', '/in', 2, ['a1/x.csv', 'b/y.csv'], ['c/x.csv', 'a/x/y.csv']],
    ['/in/exact.txt', '/in', 1, ['exact.txt'], ['other.txt']],
  ];
  for (const [pattern, base, depth, yes, no] of cases) {
    const g = compileGlob(pattern);
    assert.equal(g.base, base, pattern);
    assert.equal(g.depth, depth, pattern);
    for (const y of yes) assert.equal(g.matches(y), true, `${pattern} should match ${y}`);
    for (const n of no) assert.equal(g.matches(n), false, `${pattern} should not match ${n}`);
  }
});

test('compileGlob: relative patterns are from the working directory', () => {
  assert.equal(compileGlob('incoming/*.txt', '/srv/batch').base, '/srv/batch/incoming');
});
