import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Webhook updates written up to 0012 copied whole endpoint rows into the audit log: the sealed URL (a chat
 * channel's URL is its credential) and signing secrets, as ciphertext. Ciphertext kept there outlives a key
 * rotation (the rotation re-seals the endpoints, not the log) and leaves with every audit export. The sealed
 * columns are removed from those entries; one that changed is named "changed", as the service now writes
 * it. The log is append-only, so its trigger is lifted for this statement only, and the redaction is itself
 * recorded as an entry.
 */
const schema = `
alter table audit_log disable trigger audit_log_no_update_delete;

with sealed(columns) as (select array['urlSealed', 'secretSealed', 'previousSecretSealed']),
redacted as (
  update audit_log a set
    old_values = a.old_values - s.columns,
    new_values = (a.new_values - s.columns) || coalesce((
      select jsonb_object_agg(c, 'changed') from unnest(s.columns) c
      where a.new_values ? c and a.new_values -> c is distinct from a.old_values -> c), '{}'::jsonb)
  from sealed s
  where a.resource_type = 'webhook' and (a.old_values ?| s.columns or a.new_values ?| s.columns)
  returning a.id
)
insert into audit_log (actor_type, action, resource_type, new_values)
select 'system', 'audit.redact', 'audit_log',
  jsonb_build_object('entries', count(*), 'reason', 'webhook URL and secret ciphertext removed (0013)')
from redacted having count(*) > 0;

alter table audit_log enable trigger audit_log_no_update_delete;
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
