import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * API keys. An organisation key acts in its organisation with its role; a personal key (no organisation)
 * acts as its user, with the user's platform role and memberships (the bootstrap ADMIN's key is one).
 * Only the SHA-256 of the secret is stored: the secret is 32 random bytes, so a slow hash adds nothing.
 */
const schema = `
create table api_keys (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid references organizations (id) on delete cascade,
  user_id uuid references users (id) on delete cascade,
  name text not null check (length(name) between 1 and 100),
  role text check (role in ('OWNER', 'EDITOR', 'VIEWER')),
  secret_hash bytea not null unique,
  -- The first characters of the secret, shown in lists so a key can be recognised without revealing it.
  hint text not null,
  created_by text,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  expires_at timestamptz,
  revoked_at timestamptz,
  check ((organization_id is null) = (role is null)),
  check (organization_id is not null or user_id is not null)
);
create index api_keys_organization_idx on api_keys (organization_id) where organization_id is not null;
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
