import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * The device a tap came from (Taps/Device.ts), classified once by the writer: 1 iOS, 2 Android, 3 other. Null
 * means stored before this migration (or by a writer of the previous version during a rolling upgrade); the
 * backfill job classifies those rows in batches, found through a partial index that holds only them, so the
 * writer's rows (never null) cost it nothing.
 *
 * The device rollup is a table of its own rather than a column of tap_rollups_minute: the summary keeps reading
 * as many rows as before, and the breakdown reads 4 per minute at most. Existing rollups get their rows here,
 * as device 0 (unknown); the backfill has the hours whose raw taps remain rolled up again, which replaces them.
 * Hours whose raw rows retention already removed stay unknown: their device can no longer be told.
 */
const schema = `
alter table taps add column device smallint;
create index taps_device_unclassified_idx on taps (tapped_at) where device is null;

create table tap_rollups_device_minute (
  organization_id uuid not null,
  event_id uuid not null,
  bucket timestamptz not null,
  device smallint not null check (device between 0 and 3),
  taps bigint not null default 0,
  bot_taps bigint not null default 0,
  primary key (event_id, bucket, device)
);

insert into tap_rollups_device_minute (organization_id, event_id, bucket, device, taps, bot_taps)
select organization_id, event_id, bucket, 0, sum(taps), sum(bot_taps)
from tap_rollups_minute group by organization_id, event_id, bucket;
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
