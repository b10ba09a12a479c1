import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Up to 0014 a delivery refused by the outbound policy was logged with what its host resolved to ("refused by
 * the outbound policy: hook.example resolves to 10.0.0.7, …"), which the OWNER reads in the delivery log, the
 * endpoint's last error and its disable reason: the server answering as a resolver of its own network. Those
 * rows now say the category only, as new refusals do. (Audit entries keep theirs: the log is append-only.)
 */
const schema = `
update webhook_attempts set error = 'refused by the outbound policy'
  where error like 'refused by the outbound policy:%';
update webhook_deliveries set last_error = 'refused by the outbound policy'
  where last_error like 'refused by the outbound policy:%';
update webhook_endpoints
  set disabled_reason = regexp_replace(disabled_reason, 'refused by the outbound policy: [^)]*',
    'refused by the outbound policy')
  where disabled_reason like '%refused by the outbound policy:%';
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
