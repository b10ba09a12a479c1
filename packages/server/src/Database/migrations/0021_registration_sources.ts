import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Registrations in (issue 32, item 3). An organisation's registration sources: a broker URL sealed with the
 * encryption keys (its credentials are in it), `url_shown` is what the API may show. Platform sources live in
 * config (REGISTRATION_SOURCES) and have no row. `source_key` names either kind in the two logs below:
 * `source:<id>` or `platform:<name>`, text rather than a foreign key because a platform source has no row.
 *
 * `registration_messages` holds each message id a source has processed, inserted in the transaction that
 * applies the message: a redelivery (a crash between commit and ack) finds it there and is a no-op.
 * `registration_dead_letters` holds what could not be applied, with the reason and a bounded copy of the body.
 */
const schema = `
create table registration_sources (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  name text not null check (name ~ '^[a-z][a-z0-9-]{0,31}$'),
  url_sealed text not null,
  url_shown text not null,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint registration_sources_name_key unique (organization_id, name)
);

create table registration_messages (
  source_key text not null,
  message_id text not null,
  processed_at timestamptz not null default now(),
  primary key (source_key, message_id)
);
create index registration_messages_processed_idx on registration_messages (processed_at);

create table registration_dead_letters (
  id uuid primary key default uuid_generate_v7(),
  source_key text not null,
  message_id text,
  reason text not null,
  body text not null,
  body_bytes integer not null,
  received_at timestamptz not null default now()
);
create index registration_dead_letters_source_idx on registration_dead_letters (source_key, id desc);
create index registration_dead_letters_received_idx on registration_dead_letters (received_at);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
