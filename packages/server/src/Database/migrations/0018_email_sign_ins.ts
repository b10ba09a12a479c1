import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Email sign-in (DESIGN.md §6): one row per email address (its lower-case form is the key), so a new request
 * overwrites the open link and code instead of adding a second one. Only SHA-256 hashes are stored; the row
 * is used once (`used_at`), whichever of link or code is presented first. Rows are written for addresses
 * with no account too: the request does the same work either way.
 */
const schema = `
create table email_sign_ins (
  email_key text primary key,
  email text not null,
  token_hash bytea not null unique,
  code_hash bytea not null,
  attempts int not null default 0,
  created_at timestamptz not null default now(),
  link_expires_at timestamptz not null,
  code_expires_at timestamptz not null,
  used_at timestamptz
);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
