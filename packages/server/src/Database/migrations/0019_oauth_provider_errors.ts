import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * A provider that fails at sign-in keeps its last error (a category, never an address) and when, for the
 * platform ADMIN's list: the sign-in page can only say "cannot be used right now", the ADMIN needs to know which
 * provider and why without reading the server's log.
 */
const schema = `
alter table oauth_providers add column last_error text, add column last_error_at timestamptz;
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
