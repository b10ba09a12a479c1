import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * SMS and push for journeys (issue 34): the schema the channels, their providers and their callbacks share.
 *
 * A journey's channel may be `sms` or `push`. A message sent records the provider's own id for it
 * (`provider_message_id`), which is how a delivery-status callback finds its row; the callback's verdict is
 * `delivery_status` (the provider's word, normalised: delivered, failed, undelivered, ...), kept apart from
 * `status`, which is ours (the message left us or it did not).
 *
 * `registrant_push_subscriptions` are a registrant's devices: a Web Push subscription (endpoint and keys) from
 * the hosted page, or an FCM or APNs device token given through the API. A provider's "expired" or "invalid
 * token" removes the row; erasing the registrant removes them all.
 */
const schema = `
alter table journeys drop constraint journeys_channel_check,
  add constraint journeys_channel_check check (channel in ('email', 'sms', 'push'));
alter table journey_messages
  add column provider_message_id text check (char_length(provider_message_id) <= 200),
  add column delivery_status text check (char_length(delivery_status) <= 40),
  add column delivery_detail text check (char_length(delivery_detail) <= 500),
  add column delivery_updated_at timestamptz;
create unique index journey_messages_provider_message_idx on journey_messages (provider, provider_message_id)
  where provider_message_id is not null;
create table registrant_push_subscriptions (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  registrant_id uuid not null references registrants (id) on delete cascade,
  kind text not null check (kind in ('webpush', 'fcm', 'apns')),
  -- A Web Push endpoint URL, or an FCM registration token or APNs device token.
  address text not null check (char_length(address) between 1 and 2000),
  p256dh text check (char_length(p256dh) <= 200),
  auth text check (char_length(auth) <= 100),
  created_at timestamptz not null default now(),
  last_sent_at timestamptz,
  check ((kind = 'webpush') = (p256dh is not null and auth is not null)),
  unique (registrant_id, kind, address)
);
create index registrant_push_subscriptions_registrant_idx on registrant_push_subscriptions (registrant_id);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
