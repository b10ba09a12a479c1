import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * The registration page Tapline hosts (issue 33, item 2).
 *
 * A window now says where its taps go: to its URL, as before, or to the hosted registration page
 * (`REGISTRATION_PAGE`; the URL is then where the page sends the attendee once registered).
 *
 * `registration_confirmations` is the email double opt-in: a page registration leaves its email consent
 * pending here (the wording shown, when it was submitted, a keyed hash of the address it is for) until the
 * mailed link is followed; only then is a consent row appended. The link's token is stored hashed. Rows go
 * with their registrant (erasure, retention).
 */
const schema = `
alter table windows add column destination text not null default 'URL'
  check (destination in ('URL', 'REGISTRATION_PAGE'));

create table registration_confirmations (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  registrant_id uuid not null references registrants (id) on delete cascade,
  token_hash text not null unique,
  email_hash text not null,
  wording text not null check (char_length(wording) between 1 and 2000),
  submitted_at timestamptz not null,
  expires_at timestamptz not null,
  confirmed_at timestamptz
);
create index registration_confirmations_registrant_idx on registration_confirmations (registrant_id);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
