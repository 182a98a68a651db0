/**
 * File globs for trigger rules: `*` and `?` within a path segment, `**` across segments,
 * `{a,b}` alternatives, `[abc]` classes. As in a shell, wildcards do not match a name's
 * leading dot, so the hidden temporary files uploaders write (`.name.part`) are not matched.
 */
import { isAbsolute, join, resolve, sep } from 'node:path';

export interface CompiledGlob {
  /** the directory to walk: the pattern's leading segments without wildcards */
  base: string;
  /** how deep below `base` matches can be (Infinity with `**`) */
  depth: number;
  /** tests a path relative to `base`, with '/' separators */
  matches(relative: string): boolean;
}

const MAGIC = /[*?[{]/;

function segmentRegex(seg: string): string {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end < 0) out += '\\[';
      else {
        out += '[' + seg.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else if (c === '{') {
      const end = seg.indexOf('}', i + 1);
      if (end < 0) out += '\\{';
      else {
        out += '(?:' + seg.slice(i + 1, end).split(',').map(segmentRegex).join('|') + ')';
        i = end;
      }
    } else out += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  // No wildcard may match a leading dot.
  return seg.startsWith('.') ? out : `(?!\\.)${out}`;
}

export function compileGlob(pattern: string, cwd = process.cwd()): CompiledGlob {
  const abs = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
  const segs = abs.split(sep).filter((s, i) => s !== '' || i === 0);
  let i = 0;
  while (i < segs.length && !MAGIC.test(segs[i])) i++;
  if (i === segs.length) i = segs.length - 1; // a plain path: watch its directory for that name
  const base = segs.slice(0, i).join(sep) || sep;
  const rest = segs.slice(i);
  let re = '';
  rest.forEach((s, k) => {
    const last = k === rest.length - 1;
    if (s === '**') re += last ? '.*' : '(?:[^/.][^/]*/)*';
    else re += segmentRegex(s) + (last ? '' : '/');
  });
  const regex = new RegExp(`^${re}$`);
  return { base: base.startsWith(sep) ? base : join(sep, base), depth: rest.includes('**') ? Infinity : rest.length, matches: (r) => regex.test(r) };
}
