import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Taps PostgreSQL refused (a value it cannot hold, a broken reference): the writer isolates them from their
 * batch and keeps them here with the error instead of retrying the batch forever. The tap is kept as the
 * JSON the stream carried, in a text column: jsonb and the typed columns refuse exactly what made it fail
 * (a NUL, an invalid address). Nothing here is counted; an operator reads, fixes and redrives.
 */
const schema = `
create table tap_dead_letters (
  tap_id text primary key,
  organization_id text,
  payload text not null,
  error text not null,
  sqlstate text,
  dead_lettered_at timestamptz not null default now()
);
create index tap_dead_letters_time on tap_dead_letters (dead_lettered_at);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
