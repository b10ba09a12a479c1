import * as SqlClient from "@effect/sql/SqlClient"
import type { AiProviderName, OrganizationId } from "@tapline/domain"
import { Effect } from "effect"

/** One generation's usage, as `ai_usage` keeps it. */
export interface UsageRow {
  readonly organizationId: OrganizationId
  readonly provider: AiProviderName
  readonly model: string
  readonly purpose: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
}

export interface ProviderTotals {
  readonly provider: AiProviderName
  readonly generations: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
}

/** The first instant of the UTC month `at` falls in, and of the month after. */
export const monthOf = (at: Date): { readonly start: Date; readonly end: Date; readonly label: string } => {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1))
  const end = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1))
  const label = `${start.getUTCFullYear()}-${String(start.getUTCMonth() + 1).padStart(2, "0")}`
  return { start, end, label }
}

/** ai_usage and ai_budgets (migration 0029). Sums come back as float8: cents of dollars, not money arithmetic. */
export class AiUsageRepository extends Effect.Service<AiUsageRepository>()(
  "@tapline/server/AiUsageRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const insert = (row: UsageRow) =>
        sql<{ id: string }>`
          insert into ai_usage (organization_id, provider, model, purpose, input_tokens, output_tokens, cost_usd)
          values (${row.organizationId}, ${row.provider}, ${row.model}, ${row.purpose}, ${row.inputTokens},
                  ${row.outputTokens}, ${row.costUsd})
          returning id`.pipe(Effect.map((rows) => rows[0]!.id))

      /** The month's cost so far, in dollars. */
      const spent = (organizationId: OrganizationId, start: Date, end: Date) =>
        sql<{ spent: number }>`
          select coalesce(sum(cost_usd), 0)::float8 as spent from ai_usage
          where organization_id = ${organizationId} and at >= ${start} and at < ${end}`.pipe(
          Effect.map((rows) => Number(rows[0]?.spent ?? 0))
        )

      const totals = (organizationId: OrganizationId, start: Date, end: Date) =>
        sql<ProviderTotals>`
          select provider, count(*)::int as generations, coalesce(sum(input_tokens), 0)::float8 as input_tokens,
                 coalesce(sum(output_tokens), 0)::float8 as output_tokens,
                 coalesce(sum(cost_usd), 0)::float8 as cost_usd
          from ai_usage
          where organization_id = ${organizationId} and at >= ${start} and at < ${end}
          group by provider order by provider`.pipe(
          Effect.map((rows) =>
            rows.map((row) => ({
              provider: row.provider,
              generations: Number(row.generations),
              inputTokens: Number(row.inputTokens),
              outputTokens: Number(row.outputTokens),
              costUsd: Number(row.costUsd)
            }))
          )
        )

      /** The organisation's monthly budget in dollars, null when it has none. */
      const budget = (organizationId: OrganizationId) =>
        sql<{ monthlyBudgetUsd: number }>`
          select monthly_budget_usd::float8 as monthly_budget_usd from ai_budgets
          where organization_id = ${organizationId}`.pipe(
          Effect.map((rows) => (rows[0] === undefined ? null : Number(rows[0].monthlyBudgetUsd)))
        )

      const setBudget = (organizationId: OrganizationId, monthlyBudgetUsd: number | null) =>
        monthlyBudgetUsd === null
          ? sql`delete from ai_budgets where organization_id = ${organizationId}`.pipe(Effect.asVoid)
          : sql`
              insert into ai_budgets (organization_id, monthly_budget_usd) values (${organizationId}, ${monthlyBudgetUsd})
              on conflict (organization_id) do update
                set monthly_budget_usd = excluded.monthly_budget_usd, updated_at = now()`.pipe(Effect.asVoid)

      return { insert, spent, totals, budget, setBudget, withTransaction: sql.withTransaction } as const
    })
  }
) {}
