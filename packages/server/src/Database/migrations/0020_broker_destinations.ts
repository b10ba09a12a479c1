import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Organisations' broker destinations (Kafka, RabbitMQ, NATS JetStream) are endpoints of the one outbox, as
 * webhooks and chat are: same deliveries, retries, disabling and log. What a destination's page shows beyond
 * a webhook's: how many messages it acknowledged and when last (a tap batch counts as its taps), and its last
 * error and when, without reading the attempts log.
 */
const schema = `
alter table webhook_endpoints drop constraint webhook_endpoints_kind_check;
alter table webhook_endpoints add constraint webhook_endpoints_kind_check
  check (kind in ('webhook', 'slack', 'discord', 'teams', 'kafka', 'rabbitmq', 'nats'));
alter table webhook_endpoints
  add column delivered_count bigint not null default 0,
  add column last_delivered_at timestamptz,
  add column last_error text,
  add column last_error_at timestamptz;
create index webhook_deliveries_endpoint_pending_idx on webhook_deliveries (endpoint_id, created_at)
  where status = 'pending';
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
