/**
 * Filter patterns: the parser on a table of cases, and the store's SQL matching checked
 * against the reference `matches` on generated messages and patterns.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FilterPatternError, matches, parseFilterPattern } from '../../src/logs/filterPattern.js';
import { appendLogEvents, filterLogEvents } from '../../src/store/logEvents.js';
import { openTestStore } from '../harness/store.js';

describe('parseFilterPattern', () => {
  const cases: [string, { all?: string[]; any?: string[]; none?: string[] }][] = [
    ['', {}],
    ['   ', {}],
    ['""', {}],
    ['ERROR', { all: ['ERROR'] }],
    ['ERROR Exception', { all: ['ERROR', 'Exception'] }],
    ['"disk full"', { all: ['disk full'] }],
    ['"say \\"hi\\""', { all: ['say "hi"'] }],
    ['?ERROR ?WARN', { any: ['ERROR', 'WARN'] }],
    ['ERROR -retrying -"try again"', { all: ['ERROR'], none: ['retrying', 'try again'] }],
  ];
  for (const [pattern, expected] of cases) {
    test(`'${pattern}'`, () => {
      assert.deepEqual(parseFilterPattern(pattern), { all: [], any: [], none: [], ...expected });
    });
  }

  test('refuses what it does not match like CloudWatch, saying what is supported', () => {
    for (const p of ['{ $.level = "error" }', '[ip, user]', '%ERR.*%', '"open', 'a ? b', '-']) {
      assert.throws(() => parseFilterPattern(p), FilterPatternError, p);
    }
  });
});

describe('filterLogEvents (SQL) agrees with matches (reference)', () => {
  test('on generated messages and patterns', async () => {
    const { store, close } = await openTestStore();
    try {
      const word = fc.constantFrom('ERROR', 'error', 'WARN', 'disk', 'full', 'a', '%', '_', "it's", 'x y');
      const messages = fc.array(fc.array(word, { minLength: 1, maxLength: 5 }).map((w) => w.join(' ')), { minLength: 1, maxLength: 20 });
      const terms = fc.array(word, { maxLength: 3 });
      let stream = 0;
      await fc.assert(
        fc.asyncProperty(messages, terms, terms, terms, async (msgs, all, any, none) => {
          const logStream = `s/${stream++}`;
          await appendLogEvents(store.db, msgs.map((message, i) => ({ logGroup: 'g', logStream, timestamp: i, message })), 0);
          const m = { all, any, none };
          const rows = await filterLogEvents(store.db, { logGroup: 'g', streams: [logStream], match: m, limit: 100 });
          assert.deepEqual(
            rows.map((r) => r.message),
            msgs.filter((x) => matches(m, x)),
          );
        }),
        { numRuns: 150 },
      );
    } finally {
      await close();
    }
  });
});
