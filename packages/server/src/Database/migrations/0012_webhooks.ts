import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Outgoing webhooks and chat alerts. A message (the outbox) is written in the transaction of the change it
 * reports, with one delivery per subscribed endpoint; the dispatcher sends due deliveries, logs every attempt
 * and reschedules failures. URLs and signing secrets are sealed with the encryption keys (a chat webhook's
 * URL is its secret); `url_shown` is what the API may show.
 */
const schema = `
create table webhook_endpoints (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  kind text not null check (kind in ('webhook', 'slack', 'discord', 'teams')),
  url_sealed text not null,
  url_shown text not null,
  description text not null default '',
  event_types text[] not null,
  secret_sealed text,
  previous_secret_sealed text,
  previous_secret_until timestamptz,
  enabled boolean not null default true,
  disabled_reason text,
  failing_since timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index webhook_endpoints_org_idx on webhook_endpoints (organization_id) where enabled;

create table webhook_messages (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  event_type text not null,
  payload jsonb not null,
  created_at timestamptz not null default now()
);
create index webhook_messages_created_idx on webhook_messages (created_at);

create table webhook_deliveries (
  endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
  message_id uuid not null references webhook_messages (id) on delete cascade,
  status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  first_attempt_at timestamptz,
  last_response_status integer,
  last_response_ms integer,
  last_error text,
  created_at timestamptz not null default now(),
  primary key (endpoint_id, message_id)
);
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending';

create table webhook_attempts (
  id uuid primary key default uuid_generate_v7(),
  endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
  message_id uuid not null references webhook_messages (id) on delete cascade,
  response_status integer,
  response_ms integer not null,
  error text,
  attempted_at timestamptz not null default now()
);
create index webhook_attempts_endpoint_idx on webhook_attempts (endpoint_id, id desc);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
