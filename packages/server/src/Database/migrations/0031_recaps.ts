import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * AI recaps (issue 35): the text a language model wrote from the analytics tools it called, kept with those
 * calls (`tool_calls`: name, parameters, result) so anyone can see where each number came from.
 *
 * `generated_text` is what the model wrote (with `[unverified]` marks); `text` starts equal and is what the
 * organiser edits. The subject is copied (type, id, name) rather than referenced: a recap outlives its event.
 */
const schema = `
create table recaps (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  subject_type text not null check (subject_type in ('event', 'campaign', 'organization')),
  subject_id uuid,
  subject_name text not null check (char_length(subject_name) <= 500),
  range_from timestamptz,
  range_to timestamptz,
  text text not null check (char_length(text) between 1 and 100000),
  generated_text text not null,
  grounding jsonb not null,
  tool_calls jsonb not null,
  provider text not null check (provider in ('openai', 'anthropic', 'gemini')),
  model text not null,
  input_tokens integer not null check (input_tokens >= 0),
  output_tokens integer not null check (output_tokens >= 0),
  cost_usd numeric(14, 6) not null check (cost_usd >= 0),
  created_at timestamptz not null default now(),
  edited_at timestamptz
);
create index recaps_organization_id_idx on recaps (organization_id, id desc);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
