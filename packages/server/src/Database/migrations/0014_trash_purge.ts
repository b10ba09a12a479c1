import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * The trash is purged (DESIGN.md §2). Taps and rollups have no foreign key to events (ingestion never waits
 * on one), so they outlive a purged event; the event leaves a tombstone with what its analytics need (name
 * for comparisons, timezone for the series' buckets, attendees for engagement, dates for the default span),
 * scoped to its organisation so a foreign id still finds nothing. A tombstone table rather than a flag on
 * events: every query on events stays as it is, and the purged event's windows and bands really go.
 * The partial indexes serve the purge job's look for trash older than the retention.
 */
const schema = `
create table purged_events (
  id uuid primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  name text not null,
  timezone text not null,
  estimated_attendees integer,
  starts_at timestamptz,
  ends_at timestamptz,
  purged_at timestamptz not null default now()
);
create index purged_events_organization_idx on purged_events (organization_id);

create index campaigns_trash_idx on campaigns (deleted_at) where deleted_at is not null;
create index events_trash_idx on events (deleted_at) where deleted_at is not null;
create index bands_trash_idx on bands (deleted_at) where deleted_at is not null;
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
