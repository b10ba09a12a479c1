import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Scheduled journeys' marks (issue 33): how far each after-event or registration journey's triggers were
 * scanned. The sender's scan looks only past a journey's mark, so the bands of events that ended long ago are
 * not joined again every round; a journey with no mark (made, or the worker down, before its moment) is
 * scanned from the beginning. Registrants get an index on `created_at` so the registration scan starts from the
 * lowest mark instead of reading every registrant of the journeys' events. The sender's claim reads each
 * organisation's first due messages from their own index range instead of ranking a whole backlog every time.
 */
const schema = `
create table journey_trigger_marks (
  journey_id uuid primary key references journeys (id) on delete cascade,
  through_at timestamptz not null
);
create index registrants_created_idx on registrants (created_at);
create index journey_messages_organization_due_idx on journey_messages (organization_id, due_at, id)
  where status in ('queued', 'sending');
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
