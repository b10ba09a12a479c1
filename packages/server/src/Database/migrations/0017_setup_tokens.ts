import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * First run (DESIGN.md §6): the one-time setup links. Only the token's SHA-256 is stored, as for every other
 * credential; a link works once (`used_at`) and until `expires_at`, and only while no user exists.
 */
const schema = `
create table setup_tokens (
  token_hash bytea primary key,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  -- Who made it: the server at start, or the CLI (setup:link).
  issued_by text not null check (issued_by in ('server', 'cli'))
);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
