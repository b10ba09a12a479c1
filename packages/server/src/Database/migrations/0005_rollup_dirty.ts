import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Rollups are recomputed from the raw taps, hour by hour, for the hours that received taps. The tap writer
 * marks an (event, hour) dirty in the transaction that stores the taps; the rollup job takes dirty hours and
 * rebuilds their minute rollups and the affected days of band activity. Recomputing rather than adding
 * keeps the rollups exact under redelivery and late arrivals (a spool replayed hours later).
 */
const schema = `
create table rollup_dirty (
  event_id uuid not null,
  hour timestamptz not null,
  marked_at timestamptz not null default now(),
  primary key (event_id, hour)
);

-- Returning bands per event, recomputed by the rollup job for the events it touched: of the bands first
-- seen on some day (event-local), how many were seen again 1, 3, 7, 14 and 30 days later.
create table event_retention (
  event_id uuid primary key,
  cohort bigint not null,
  day1 bigint not null,
  day3 bigint not null,
  day7 bigint not null,
  day14 bigint not null,
  day30 bigint not null,
  computed_at timestamptz not null default now()
);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
