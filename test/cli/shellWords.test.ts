/** `--command` splitting and the quoting `describe` shows commands with. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { quoteShellWords, splitShellWords } from '../../src/cli/shellWords.js';

describe('splitShellWords', () => {
  const cases: [string, string[]][] = [
    ['echo hello', ['echo', 'hello']],
    ['  echo   hello  ', ['echo', 'hello']],
    [`sh -c 'echo $HOME; exit 3'`, ['sh', '-c', 'echo $HOME; exit 3']],
    [`sh -c "echo \\"hi\\" \\$x"`, ['sh', '-c', 'echo "hi" $x']],
    [`a\\ b c`, ['a b', 'c']],
    [`x'y'"z"`, ['xyz']],
    [`''`, ['']],
    ['', []],
  ];
  for (const [text, words] of cases) test(JSON.stringify(text), () => assert.deepEqual(splitShellWords(text), words));

  test('an unterminated quote is an error that says so', () => {
    assert.throws(() => splitShellWords(`echo 'oops`), /unterminated '/);
    assert.throws(() => splitShellWords(`echo "oops`), /unterminated "/);
  });

  test('quoting then splitting gives the words back', () => {
    fc.assert(fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 6 }), (words) => assert.deepEqual(splitShellWords(quoteShellWords(words)), words)));
  });
});
