/** Case-insensitive name matching as AWS's list filters do it: exact, or by prefix with a trailing `*`. */
import { sql, type RawBuilder } from 'kysely';

/** `lower(<column>)` equals the pattern, or starts with it when it ends in `*` (LIKE wildcards escaped). */
export function nameMatches(column: string, pattern: string): RawBuilder<boolean> {
  const p = pattern.toLowerCase();
  if (!p.endsWith('*')) return sql<boolean>`lower(${sql.ref(column)}) = ${p}`;
  const prefix = p.slice(0, -1).replace(/[\\%_]/g, (c) => '\\' + c);
  return sql<boolean>`lower(${sql.ref(column)}) LIKE ${prefix + '%'} ESCAPE '\\'`;
}
