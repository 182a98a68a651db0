/**
 * CloudWatch Logs filter patterns for unstructured log events, the part of the syntax job
 * output needs:
 *
 *   ERROR                 events containing ERROR (case-sensitive, anywhere in the message)
 *   ERROR Exception       events containing both
 *   "disk full"           the exact phrase; quotes also hold terms with spaces or symbols
 *   ?ERROR ?WARN          events containing either (combined with plain terms: those too)
 *   ERROR -retrying       ERROR but not retrying; `-"a phrase"` works too
 *   (empty, or "")        every event
 *
 * JSON patterns (`{ $.level = "error" }`), space-delimited patterns (`[ip, user, …]`) and
 * regular expressions (`%…%`) are refused with a message saying so, rather than matched
 * differently from CloudWatch.
 */
import type { TermMatch } from '../store/logEvents.js';

export class FilterPatternError extends Error {}

/** Parses a filter pattern; throws FilterPatternError with a message a person can act on. */
export function parseFilterPattern(pattern: string): TermMatch {
  const out: TermMatch = { all: [], any: [], none: [] };
  const text = pattern.trim();
  const kind = text[0] === '{' ? 'JSON patterns ({ $.field = … })' : text[0] === '[' ? 'space-delimited patterns ([a, b, …])' : text[0] === '%' ? 'regular expressions (%…%)' : null;
  if (kind) throw new FilterPatternError(`filterPattern: ${kind} are not supported by openbatch; use terms, "quoted phrases", ?either terms and -excluded terms`);
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) {
      i++;
      continue;
    }
    let mode: keyof TermMatch = 'all';
    if (text[i] === '?' || text[i] === '-') {
      mode = text[i] === '?' ? 'any' : 'none';
      i++;
    }
    let term = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const c = text[i++];
        if (c === '\\' && i < text.length) term += text[i++];
        else if (c === '"') {
          closed = true;
          break;
        } else term += c;
      }
      if (!closed) throw new FilterPatternError(`filterPattern: the quoted phrase starting at character ${text.indexOf('"') + 1} has no closing quote`);
    } else {
      while (i < text.length && !/\s/.test(text[i])) term += text[i++];
    }
    if (term === '') {
      // `""` alone means "everything"; a bare `?` or `-` is a mistake.
      if (mode !== 'all') throw new FilterPatternError(`filterPattern: '${mode === 'any' ? '?' : '-'}' must be followed by a term`);
      continue;
    }
    out[mode].push(term);
  }
  return out;
}

/** The same test the store runs in SQL, for callers that hold messages already. */
export function matches(m: TermMatch, message: string): boolean {
  if (!m.all.every((t) => message.includes(t))) return false;
  if (m.none.some((t) => message.includes(t))) return false;
  return m.any.length === 0 || m.any.some((t) => message.includes(t));
}
