/** JSON columns: one place for encoding and decoding them. */
export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function fromJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  const v = JSON.parse(text) as T | null;
  return v === null ? fallback : v;
}
