import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { OrganizationId } from "./Ids.js"
import { organizationId } from "./Params.js"

/*
 * Language models (issue 35): the errors every AI feature answers with, and the usage and budget API.
 * Costs are US dollars, from the prices the operator configures (AI_PRICES), per UTC calendar month.
 */

/**
 * No language-model provider is configured (no API key): the feature does not exist on this server, so
 * the answer is a 404, and the console hides it.
 */
export class AiUnavailable extends Schema.TaggedError<AiUnavailable>()(
  "AiUnavailable",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/**
 * The organisation's monthly AI budget is spent: nothing was sent to any provider. It comes back at the
 * start of the next UTC month (`retryAfterSeconds`), or when an OWNER raises the budget.
 */
export class AiBudgetExhausted extends Schema.TaggedError<AiBudgetExhausted>()(
  "AiBudgetExhausted",
  {
    message: Schema.String,
    budgetUsd: Schema.Number,
    spentUsd: Schema.Number,
    retryAfterSeconds: Schema.Number
  },
  HttpApiSchema.annotations({ status: 429 })
) {}

/** The names AI_PROVIDERS takes: the metric label and the `provider` column of ai_usage. */
export const AiProviderName = Schema.Literal("openai", "anthropic", "gemini")
export type AiProviderName = typeof AiProviderName.Type

export const AiProviderUsage = Schema.Struct({
  provider: AiProviderName,
  generations: Schema.Number,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  costUsd: Schema.Number
})
export type AiProviderUsage = typeof AiProviderUsage.Type

export const AiUsage = Schema.Struct({
  organizationId: OrganizationId,
  /** The UTC month, "2026-12". */
  month: Schema.String,
  generations: Schema.Number,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  costUsd: Schema.Number,
  /** Null: no budget set, generations are not limited by cost. */
  monthlyBudgetUsd: Schema.NullOr(Schema.Number),
  providers: Schema.Array(AiProviderUsage)
})
export type AiUsage = typeof AiUsage.Type

export const AiUsageParams = Schema.Struct({
  month: Schema.optional(
    Schema.String.pipe(Schema.pattern(/^\d{4}-(0[1-9]|1[0-2])$/, { message: () => "a month, YYYY-MM" }))
  )
})

export const AiBudget = Schema.Struct({
  /** US dollars per UTC month; null removes the budget. */
  monthlyBudgetUsd: Schema.NullOr(Schema.Number.pipe(Schema.between(0, 1_000_000)))
})
export type AiBudget = typeof AiBudget.Type

export class AiApi extends HttpApiGroup.make("ai")
  .add(
    HttpApiEndpoint.get("usage")`/api/v1/organizations/${organizationId}/ai/usage`
      .setUrlParams(AiUsageParams)
      .addSuccess(AiUsage)
  )
  .add(
    HttpApiEndpoint.put("setBudget")`/api/v1/organizations/${organizationId}/ai/budget`
      .setPayload(AiBudget)
      .addSuccess(AiBudget)
  )
  .addError(AiUnavailable)
  .addError(NotFound)
  .addError(Forbidden)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "AI")
  .annotate(
    OpenApi.Description,
    "Language-model usage and cost per organisation (month totals, per provider) and the monthly budget an OWNER sets. 404 AiUnavailable when no provider is configured."
  ) {}
