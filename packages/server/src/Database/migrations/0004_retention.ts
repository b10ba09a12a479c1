import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Retention of raw taps: whole monthly partitions older than the kept months are dropped (instant, no
 * vacuum debt). The default partition is never dropped. Rollups are kept.
 */
const schema = `
create or replace function tapline_drop_tap_partitions(keep_months integer) returns setof text language plpgsql as $$
declare
  cutoff date := (date_trunc('month', now() at time zone 'UTC') - make_interval(months => keep_months))::date;
  partition record;
begin
  for partition in
    select c.relname from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_class p on p.oid = i.inhparent
    where p.relname = 'taps' and c.relname ~ '^taps_[0-9]{4}_[0-9]{2}$'
      and to_date(substr(c.relname, 6), 'YYYY_MM') < cutoff
  loop
    execute format('drop table %I', partition.relname);
    return next partition.relname;
  end loop;
end $$;
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
