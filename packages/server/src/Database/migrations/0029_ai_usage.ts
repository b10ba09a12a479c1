import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Language models (issue 35): what each generation cost, and the monthly budget an OWNER sets.
 *
 * `ai_usage` is one row per generation that a provider answered: the provider and model that answered, the
 * tokens it counted (every model call of a tool loop summed), the cost in US dollars from the configured prices
 * at the time, and the purpose (the feature that asked: "recap"...). Month totals are sums over `at`, so the
 * index leads with the organisation and the time. `ai_budgets` holds at most one budget per organisation;
 * no row, no limit.
 */
const schema = `
create table ai_usage (
  id uuid primary key default uuid_generate_v7(),
  organization_id uuid not null references organizations (id) on delete cascade,
  provider text not null check (provider in ('openai', 'anthropic', 'gemini')),
  model text not null check (char_length(model) between 1 and 200),
  purpose text not null check (char_length(purpose) between 1 and 60),
  input_tokens integer not null check (input_tokens >= 0),
  output_tokens integer not null check (output_tokens >= 0),
  cost_usd numeric(14, 6) not null check (cost_usd >= 0),
  at timestamptz not null default now()
);
create index ai_usage_organization_at_idx on ai_usage (organization_id, at);
create table ai_budgets (
  organization_id uuid primary key references organizations (id) on delete cascade,
  monthly_budget_usd numeric(12, 2) not null check (monthly_budget_usd >= 0),
  updated_at timestamptz not null default now()
);
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
