/** JSON columns: one place for encoding and decoding them. */
export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function fromJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  const v = JSON.parse(text) as T | null;
  return v === null ? fallback : v;
}

/**
 * A row as code outside the store writes it: its JSON columns `J` as values, which the store
 * encodes — so that only store/ knows a column holds JSON (test/architecture.test.ts).
 */
export type WithValues<R, J extends { [K in keyof R]?: unknown }> = Omit<R, keyof J> & J;

/**
 * `row` with its JSON `columns` encoded: a value becomes its JSON text, null stays SQL NULL, and
 * a column the row does not carry (a patch that leaves it alone) stays absent.
 */
export function encodeColumns<R>(row: object, columns: readonly (keyof R & string)[]): R {
  const out: Record<string, unknown> = { ...row };
  for (const c of columns) if (out[c] !== undefined && out[c] !== null) out[c] = toJson(out[c]);
  return out as R;
}
