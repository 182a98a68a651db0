/**
 * The two databases openbatch stores its state in, and the few places their SQL differs.
 * Everything else is written once with Kysely's builders. A store function that needs a
 * dialect-specific expression asks the handle it was given (a Kysely or a transaction), so no
 * module keeps global state about which database is open.
 */
import { PostgresAdapter, type ColumnDefinitionBuilder, type Kysely, type Transaction } from 'kysely';

export type StoreKind = 'sqlite' | 'postgres';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any> | Transaction<any>;

export function isPostgres(db: AnyDb): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Column types for migrations. SQLite's `real` is a double; PostgreSQL's is 4 bytes (0.096
 * would read back as 0.0960000008), so PostgreSQL gets `double precision`. SQLite keeps the
 * exact types its databases were created with.
 */
export function realType(db: AnyDb): 'real' | 'double precision' {
  return isPostgres(db) ? 'double precision' : 'real';
}

/**
 * `addColumn(name, ...autoId(db))`: a primary key that numbers itself (submission order,
 * event order). SQLite: INTEGER PRIMARY KEY AUTOINCREMENT; PostgreSQL: bigserial.
 */
export function autoId(db: AnyDb): ['integer' | 'bigserial', (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder] {
  return isPostgres(db) ? ['bigserial', (c) => c.primaryKey()] : ['integer', (c) => c.primaryKey().autoIncrement()];
}
