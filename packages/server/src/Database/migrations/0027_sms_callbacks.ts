import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * SMS callbacks (issue 34): what the providers' delivery-status and inbound-SMS webhooks change.
 *
 * A STOP or START texted to the platform's number is a consent row with the source `sms`. The inbound message
 * names a phone, not a registrant, so registrants are found by phone (`registrants_phone_idx`).
 *
 * `sms_callbacks_seen` is the replay guard: one row per callback applied, keyed by the provider and the
 * callback's own id (SNS MessageId, Twilio MessageSid and status, Vonage message id and status), inserted in
 * the transaction that applies it, so a callback delivered twice (providers retry) changes things once. Rows
 * older than the longest retry a provider makes are pruned as new ones come in.
 *
 * `organizations.sms_help_text` is the organisation's answer to HELP (carriers require one): at most 300
 * characters, which is two SMS segments of GSM text.
 */
const schema = `
alter table registrant_consents drop constraint registrant_consents_source_check,
  add constraint registrant_consents_source_check
    check (source in ('import', 'api', 'broker', 'page', 'unsubscribe', 'sms'));
create index registrants_phone_idx on registrants (phone) where phone is not null;
alter table organizations add column sms_help_text text check (char_length(sms_help_text) between 1 and 300);
create table sms_callbacks_seen (
  provider text not null check (provider in ('twilio', 'sns', 'vonage')),
  callback_id text not null check (char_length(callback_id) between 1 and 300),
  received_at timestamptz not null default now(),
  primary key (provider, callback_id)
);
create index sms_callbacks_seen_received_idx on sms_callbacks_seen (received_at);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
