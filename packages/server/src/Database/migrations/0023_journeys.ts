import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Journeys (issue 33): a message sent once per band when a trigger fires at an event.
 *
 * `journeys` holds the definition: the trigger as columns (its kind, and the window type or the minutes after
 * the event's end that kind needs), a delay, the channel and the templates. `journey_messages` is both the
 * delivery log and the send queue: one row per (journey, band), unique, which is the once-only rule (a second
 * tap, a redelivered batch or a second worker inserts nothing). The sender claims due rows per organisation in
 * turns; a failed send goes back to `queued` with a later `due_at` until it is `dead` (redrive puts it back).
 * The registrant is looked up when the message is sent, not when it is queued: the latest consent, address and
 * an erasure all count. Each row has its own unsubscribe token (the List-Unsubscribe link).
 *
 * Quiet hours are an event's (local times in its time zone, both or neither); a withdrawal by unsubscribing is
 * a consent row with the source `unsubscribe`.
 */
const schema = `
alter table events add column quiet_hours_start time, add column quiet_hours_end time,
  add constraint events_quiet_hours_both check ((quiet_hours_start is null) = (quiet_hours_end is null));

alter table registrant_consents drop constraint registrant_consents_source_check,
  add constraint registrant_consents_source_check
    check (source in ('import', 'api', 'broker', 'page', 'unsubscribe'));

create table journeys (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  event_id uuid not null,
  name text not null check (char_length(name) between 1 and 200),
  trigger text not null check (trigger in ('first_tap', 'window_tap', 'after_event', 'registration')),
  window_type text check (window_type in ('PRE', 'LIVE', 'POST')),
  after_minutes integer check (after_minutes between 0 and 43200),
  delay_minutes integer not null default 0 check (delay_minutes between 0 and 43200),
  channel text not null default 'email' check (channel in ('email')),
  subject text not null check (char_length(subject) between 1 and 200),
  body text not null check (char_length(body) between 1 and 20000),
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, organization_id),
  foreign key (event_id, organization_id) references events (id, organization_id) on delete cascade,
  check ((trigger = 'window_tap') = (window_type is not null)),
  check ((trigger = 'after_event') = (after_minutes is not null))
);
create index journeys_organization_idx on journeys (organization_id, id);
create index journeys_event_idx on journeys (event_id, trigger) where enabled;

create table journey_messages (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  journey_id uuid not null references journeys (id) on delete cascade,
  band_id uuid not null references bands (id) on delete cascade,
  window_url text,
  status text not null default 'queued'
    check (status in ('queued', 'sending', 'sent', 'dead', 'skipped')),
  reason text,
  due_at timestamptz not null,
  claimed_until timestamptz,
  attempts integer not null default 0,
  last_error text,
  provider text,
  sent_at timestamptz,
  unsubscribe_token text not null unique,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint journey_messages_once unique (journey_id, band_id)
);
create index journey_messages_due_idx on journey_messages (due_at) where status in ('queued', 'sending');
create index journey_messages_journey_idx on journey_messages (journey_id, id);
create index journey_messages_dead_idx on journey_messages (organization_id) where status = 'dead';
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
