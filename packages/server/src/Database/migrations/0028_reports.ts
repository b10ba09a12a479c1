import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Signed sponsor reports (issue 35, item 4).
 *
 * An `activation` is what a sponsor paid for: a named selection of an organisation's bands, tags and/or
 * windows over a time range. Its changes are audited like any resource's (resource type `activation`).
 *
 * A `reports` row is one issued report: the canonical JSON of its body exactly as it was signed (text, not
 * jsonb, which would reorder keys and so break the signature), the signature and the id of the key that made
 * it, and where its JSON and PDF exports are kept in Storage. The figures live in the document, so a report
 * stays verifiable after the raw taps' retention. Rows are immutable: a trigger refuses any update. The
 * activation may be deleted later; its reports stay (no foreign key to it).
 */
const schema = `
create table activations (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 200),
  band_ids uuid[] not null default '{}',
  tag_ids uuid[] not null default '{}',
  window_ids uuid[] not null default '{}',
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint activations_range check (starts_at < ends_at),
  constraint activations_selection check (
    cardinality(band_ids) + cardinality(tag_ids) + cardinality(window_ids) between 1 and 1000
  )
);
create index activations_organization_idx on activations (organization_id, id);

create table reports (
  id uuid primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  activation_id uuid not null,
  issued_at timestamptz not null,
  document text not null,
  signature text not null,
  key_id text not null check (key_id ~ '^[0-9a-f]{16}$'),
  json_object_key text not null,
  pdf_object_key text not null
);
create index reports_activation_idx on reports (organization_id, activation_id, id);

create function tapline_reports_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'reports are immutable' using errcode = 'check_violation';
end $$;
create trigger reports_immutable before update on reports
  for each row execute function tapline_reports_immutable();
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
