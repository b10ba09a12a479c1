import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * A change counter per organisation for the hot path's Redis read model. Statement triggers bump it in the
 * same transaction as any change the read model depends on (organisations, events, windows, band membership
 * and flags), so "Redis holds version N of organisation X" is comparable with PostgreSQL at any time.
 * Band updates that only touch tap statistics (the tap writer's) do not count: the trigger compares the
 * read-model columns of old and new rows.
 */
const schema = `
create table read_model_versions (
  organization_id uuid primary key references organizations (id) on delete cascade,
  version bigint not null default 1
);

create or replace function read_model_bump(organization_ids uuid[]) returns void language sql as $$
  insert into read_model_versions (organization_id, version)
  select distinct id, 1 from unnest(organization_ids) as id where id is not null
  on conflict (organization_id) do update set version = read_model_versions.version + 1
$$;

create or replace function read_model_changed_rows() returns trigger language plpgsql as $$
begin
  if tg_table_name = 'organizations' then
    if tg_op = 'DELETE' then return null; end if;
    perform read_model_bump(array(select id from changed_rows));
  else
    perform read_model_bump(array(select distinct organization_id from changed_rows));
  end if;
  return null;
end $$;

create or replace function read_model_changed_bands() returns trigger language plpgsql as $$
begin
  perform read_model_bump(array(
    select distinct n.organization_id from new_rows n join old_rows o on o.id = n.id
    where (o.event_id, o.band_uid, o.flagged, o.deleted_at) is distinct from (n.event_id, n.band_uid, n.flagged, n.deleted_at)
  ));
  return null;
end $$;
`

const table = (name: string) => `
create trigger ${name}_read_model_insert after insert on ${name}
  referencing new table as changed_rows for each statement execute function read_model_changed_rows();
create trigger ${name}_read_model_delete after delete on ${name}
  referencing old table as changed_rows for each statement execute function read_model_changed_rows();
`

const updates = (name: string) => `
create trigger ${name}_read_model_update after update on ${name}
  referencing new table as changed_rows for each statement execute function read_model_changed_rows();
`

const bands = `
create trigger bands_read_model_update after update on bands
  referencing new table as new_rows old table as old_rows for each statement execute function read_model_changed_bands();
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql.unsafe(
    [
      schema,
      table("organizations"),
      updates("organizations"),
      table("events"),
      updates("events"),
      table("windows"),
      updates("windows"),
      table("bands"),
      bands,
      "insert into read_model_versions (organization_id) select id from organizations on conflict do nothing;"
    ].join("\n")
  )
)
