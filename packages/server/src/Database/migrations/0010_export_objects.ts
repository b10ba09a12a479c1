import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Exports move from `export_chunks` (bytea in PostgreSQL) to object storage: a row names its object and when it
 * expires. Exports finished before this migration had their file in the dropped chunks: they become `expired`,
 * as they would within seven days anyway.
 */
const schema = `
alter table exports add column object_key text;
alter table exports add column expires_at timestamptz;
alter table exports drop constraint exports_status_check;
alter table exports add constraint exports_status_check
  check (status in ('queued', 'running', 'done', 'failed', 'expired'));
update exports set status = 'expired' where status = 'done';
drop table export_chunks;
create index exports_expiry_idx on exports (expires_at) where status = 'done';
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
