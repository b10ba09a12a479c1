import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Background exports: the request, its state, and the CSV itself in chunks. Kept in PostgreSQL so any
 * instance can serve a download the job wrote on another; moves to object storage with the Storage layer.
 */
const schema = `
create table exports (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  kind text not null check (kind in ('taps', 'audit')),
  params jsonb not null,
  status text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed')),
  rows bigint,
  bytes bigint,
  error text,
  created_by text,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);
create index exports_organization_idx on exports (organization_id, id desc);

create table export_chunks (
  export_id uuid not null references exports (id) on delete cascade,
  seq integer not null,
  data bytea not null,
  primary key (export_id, seq)
);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
