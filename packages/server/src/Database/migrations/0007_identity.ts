import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Sign-in (DESIGN.md §6). Every token is stored as its SHA-256 (they are 32 random bytes); OAuth client
 * secrets and TOTP seeds are stored encrypted by SecretBox (`v<key>.<iv>.<ciphertext>`), never in clear.
 */
const schema = `
create table oauth_providers (
  -- The name in sign-in URLs: /api/v1/auth/oauth/{id}/start.
  id text primary key check (id ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
  kind text not null check (kind in ('github', 'google', 'entra', 'apple', 'oidc')),
  display_name text not null check (length(display_name) between 1 and 100),
  client_id text not null check (length(client_id) between 1 and 500),
  -- Encrypted. Apple's is the PKCS#8 private key its client secret is signed with.
  client_secret text,
  -- oidc: the issuer URL (discovery); entra: the tenant.
  issuer text,
  -- apple: team and key ids.
  settings jsonb not null default '{}'::jsonb,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table user_identities (
  provider_id text not null references oauth_providers (id) on delete cascade,
  subject text not null,
  user_id uuid not null references users (id) on delete cascade,
  email text,
  created_at timestamptz not null default now(),
  last_sign_in_at timestamptz,
  primary key (provider_id, subject)
);
create index user_identities_user_idx on user_identities (user_id);

create table sessions (
  id uuid primary key default uuid_generate_v7(),
  user_id uuid not null references users (id) on delete cascade,
  method text not null,
  access_hash bytea not null unique,
  access_expires_at timestamptz not null,
  refresh_hash bytea not null unique,
  csrf_hash bytea not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text,
  ip inet,
  user_agent text
);
create index sessions_user_idx on sessions (user_id, created_at) where revoked_at is null;

-- Refresh tokens a rotation replaced: presenting one again means it was stolen, and ends the session.
create table session_retired_tokens (
  refresh_hash bytea primary key,
  session_id uuid not null references sessions (id) on delete cascade,
  retired_at timestamptz not null default now()
);

create table passkeys (
  id uuid primary key default uuid_generate_v7(),
  user_id uuid not null references users (id) on delete cascade,
  credential_id text not null unique,
  public_key bytea not null,
  counter bigint not null default 0,
  transports text[] not null default '{}',
  device_type text not null,
  backed_up boolean not null,
  name text not null check (length(name) between 1 and 100),
  created_at timestamptz not null default now(),
  last_used_at timestamptz
);
create index passkeys_user_idx on passkeys (user_id);

create table totp_factors (
  user_id uuid primary key references users (id) on delete cascade,
  secret text not null,
  confirmed_at timestamptz,
  -- The last 30-second step a code was accepted for: a code is good once.
  last_step bigint not null default 0,
  created_at timestamptz not null default now()
);

create table backup_codes (
  user_id uuid not null references users (id) on delete cascade,
  code_hash bytea not null,
  used_at timestamptz,
  primary key (user_id, code_hash)
);

create table invitations (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  email text not null,
  role text not null check (role in ('OWNER', 'EDITOR', 'VIEWER')),
  token_hash bytea not null unique,
  invited_by text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  accepted_at timestamptz,
  accepted_by uuid references users (id) on delete set null,
  revoked_at timestamptz
);
create unique index invitations_open_key on invitations (organization_id, lower(email))
  where accepted_at is null and revoked_at is null;
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
