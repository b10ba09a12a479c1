import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * The schema of DESIGN.md §2. Integrity that matters for tenants and taps is enforced here, not only in code:
 * composite foreign keys keep a window or band in its event's organisation, an exclusion constraint keeps the
 * windows of one event apart, and the audit log refuses UPDATE, DELETE and TRUNCATE.
 */
const schema = `
create extension if not exists btree_gist;

-- UUIDv7: time-ordered ids keep btree inserts local (PostgreSQL 15 has no built-in generator).
create or replace function uuid_generate_v7() returns uuid language sql volatile as $$
  select encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
        placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
        from 1 for 6),
      52, 1), 53, 1), 'hex')::uuid
$$;

create table organizations (
  id uuid primary key default uuid_generate_v7(),
  slug text not null unique check (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  name text not null check (length(name) between 1 and 200),
  website_url text check (website_url ~* '^https?://'),
  contact_email text,
  branding jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);

create table users (
  id uuid primary key default uuid_generate_v7(),
  email text not null,
  name text not null default '',
  platform_role text not null default 'CUSTOMER' check (platform_role in ('ADMIN', 'CUSTOMER')),
  timezone text not null default 'UTC',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));

create table memberships (
  user_id uuid not null references users (id) on delete cascade,
  organization_id uuid not null references organizations (id) on delete cascade,
  role text not null check (role in ('OWNER', 'EDITOR', 'VIEWER')),
  created_at timestamptz not null default now(),
  primary key (user_id, organization_id)
);
create index memberships_organization_idx on memberships (organization_id);

create table campaigns (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  name text not null check (length(name) between 1 and 200),
  status text not null default 'DRAFT' check (status in ('DRAFT', 'ACTIVE', 'COMPLETED')),
  starts_on date,
  ends_on date,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  unique (id, organization_id),
  check (starts_on is null or ends_on is null or starts_on <= ends_on)
);
create index campaigns_organization_idx on campaigns (organization_id);

create table events (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  campaign_id uuid,
  name text not null check (length(name) between 1 and 200),
  venue text,
  address text,
  latitude double precision check (latitude between -90 and 90),
  longitude double precision check (longitude between -180 and 180),
  timezone text not null default 'UTC',
  status text not null default 'DRAFT' check (status in ('DRAFT', 'ACTIVE', 'COMPLETED', 'CANCELLED')),
  schedule_mode text not null default 'scheduled' check (schedule_mode in ('scheduled', 'manual')),
  manual_window_id uuid,
  fallback_url text check (fallback_url ~* '^https?://'),
  estimated_attendees integer check (estimated_attendees >= 0),
  assign_on_flag boolean not null default false,
  auto_lifecycle boolean not null default false,
  starts_at timestamptz,
  ends_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  unique (id, organization_id),
  foreign key (campaign_id, organization_id) references campaigns (id, organization_id),
  check (starts_at is null or ends_at is null or starts_at <= ends_at)
);
create index events_organization_idx on events (organization_id, status);
create index events_campaign_idx on events (campaign_id) where campaign_id is not null;

create table windows (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null,
  event_id uuid not null,
  type text not null check (type in ('PRE', 'LIVE', 'POST')),
  title text not null default '',
  url text not null check (url ~* '^https?://'),
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, event_id),
  foreign key (event_id, organization_id) references events (id, organization_id) on delete cascade,
  constraint windows_starts_before_ends check (starts_at < ends_at),
  constraint windows_no_overlap exclude using gist (
    event_id with =,
    tstzrange(starts_at, ends_at, '[)') with &&
  )
);

-- The manually active window must be one of the event's own windows.
alter table events add constraint events_manual_window_fkey
  foreign key (manual_window_id, id) references windows (id, event_id) on delete set null (manual_window_id);

create table tags (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  name text not null check (length(name) between 1 and 64),
  color text,
  created_at timestamptz not null default now(),
  unique (id, organization_id)
);
create unique index tags_name_key on tags (organization_id, lower(name));

create table bands (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null,
  event_id uuid not null,
  band_uid text not null check (band_uid ~ '^[A-Za-z0-9-]{1,64}$'),
  registrant_name text,
  registrant_email text,
  auto_assigned boolean not null default false,
  auto_assign_distance_miles double precision,
  flagged boolean not null default false,
  flag_reason text,
  first_tap_at timestamptz,
  last_tap_at timestamptz,
  tap_count bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  unique (id, organization_id),
  constraint bands_event_uid_key unique (event_id, band_uid),
  foreign key (event_id, organization_id) references events (id, organization_id) on delete cascade
);
create index bands_organization_uid_idx on bands (organization_id, band_uid);
create index bands_flagged_idx on bands (event_id) where flagged;

create table band_tags (
  band_id uuid not null,
  tag_id uuid not null,
  organization_id uuid not null,
  primary key (band_id, tag_id),
  foreign key (band_id, organization_id) references bands (id, organization_id) on delete cascade,
  foreign key (tag_id, organization_id) references tags (id, organization_id) on delete cascade
);
create index band_tags_tag_idx on band_tags (tag_id);

-- Taps arrive from the hot path through the stream; no foreign keys so that ingestion never blocks on them.
create table taps (
  id uuid not null,
  organization_id uuid not null,
  event_id uuid,
  band_id uuid,
  band_uid text not null,
  window_id uuid,
  mode text check (mode in ('PRE', 'LIVE', 'POST')),
  redirect_kind text not null check (redirect_kind in ('WINDOW', 'FALLBACK', 'ORG', 'DEFAULT')),
  destination_url text not null,
  tapped_at timestamptz not null,
  user_agent text,
  client_ip inet,
  utm_source text,
  utm_medium text,
  utm_campaign text,
  utm_term text,
  utm_content text,
  is_bot boolean not null default false,
  is_duplicate boolean not null default false,
  primary key (id, tapped_at)
) partition by range (tapped_at);
create index taps_event_time_idx on taps (event_id, tapped_at);
create index taps_band_time_idx on taps (band_id, tapped_at);
-- Rows outside every monthly partition (a skewed clock) land here instead of failing the batch.
create table taps_default partition of taps default;

-- Creates the monthly partitions from monthsBack before to monthsAhead after the current month (UTC).
create or replace function tapline_ensure_tap_partitions(months_back integer default 1, months_ahead integer default 3)
returns integer language plpgsql as $$
declare
  month_start timestamp;
  partition_name text;
  created integer := 0;
begin
  for offset_months in -months_back..months_ahead loop
    month_start := date_trunc('month', now() at time zone 'UTC') + make_interval(months => offset_months);
    partition_name := 'taps_' || to_char(month_start, 'YYYY_MM');
    if to_regclass(partition_name) is null then
      execute format(
        'create table %I partition of taps for values from (%L) to (%L)',
        partition_name,
        month_start at time zone 'UTC',
        (month_start + interval '1 month') at time zone 'UTC'
      );
      created := created + 1;
    end if;
  end loop;
  return created;
end $$;
select tapline_ensure_tap_partitions(1, 3);

-- Rollups: analytics read these, never the raw taps.
create table tap_rollups_minute (
  organization_id uuid not null,
  event_id uuid not null,
  bucket timestamptz not null,
  window_key uuid not null default '00000000-0000-0000-0000-000000000000',
  mode text not null default '',
  redirect_kind text not null,
  taps bigint not null default 0,
  bot_taps bigint not null default 0,
  duplicate_taps bigint not null default 0,
  primary key (event_id, bucket, window_key, mode, redirect_kind)
);

create table tap_rollups_hour (like tap_rollups_minute including all);

create table band_activity_daily (
  organization_id uuid not null,
  event_id uuid not null,
  band_id uuid not null,
  day date not null,
  taps bigint not null default 0,
  primary key (event_id, band_id, day)
);
create index band_activity_daily_day_idx on band_activity_daily (event_id, day);

create table audit_log (
  id uuid primary key default uuid_generate_v7(),
  occurred_at timestamptz not null default now(),
  actor_type text not null check (actor_type in ('user', 'api_key', 'system')),
  actor_id text,
  organization_id uuid,
  action text not null,
  resource_type text not null,
  resource_id text,
  old_values jsonb,
  new_values jsonb,
  ip inet,
  user_agent text,
  request_id text,
  trace_id text
);
create index audit_log_organization_idx on audit_log (organization_id, occurred_at desc);
create index audit_log_resource_idx on audit_log (resource_type, resource_id);

create or replace function audit_log_reject_change() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only: % is not allowed', tg_op using errcode = 'TL001';
end $$;
create trigger audit_log_no_update_delete before update or delete on audit_log
  for each row execute function audit_log_reject_change();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_reject_change();
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
