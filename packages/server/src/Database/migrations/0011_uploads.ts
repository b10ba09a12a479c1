import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Files sent straight to Storage by presigned PUT (band imports beyond one request, logos): the row is the
 * ticket, naming the organisation, what the file is for and the type it must have. Used or not, an upload is
 * removed a day after it was issued.
 */
const schema = `
create table uploads (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  purpose text not null check (purpose in ('band-import', 'logo')),
  content_type text not null,
  object_key text not null,
  created_by text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index uploads_expiry_idx on uploads (expires_at);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
