import {
  AiBudgetExhausted,
  type AiProviderName,
  type AiUnavailable,
  type AiUsage as AiUsageTotals,
  type OrganizationId
} from "@tapline/domain"
import { Clock, Effect, Stream } from "effect"
import { Ai, type AiAnswer, type AiGenerationFailed, type AiRequest, type AiStreamPart } from "../Ai/Ai.js"
import { costOf } from "../Ai/AiConfig.js"
import { Audit } from "../Audit/Audit.js"
import { AppConfig } from "../Config/AppConfig.js"
import { AiUsageRepository, monthOf } from "./AiUsageRepository.js"

/** What a feature asks for: whose generation (usage, budget, audit), why, the prompt and its tools. */
export interface GenerateRequest extends AiRequest {
  readonly organizationId: OrganizationId
  /** The feature asking ("recap"...): kept with the usage row and the audit entry. */
  readonly purpose: string
}

export interface Generation extends AiAnswer {
  /** US dollars, from AI_PRICES (0 for a model without a price). */
  readonly costUsd: number
  /** The ai_usage row, which the audit entry names. */
  readonly usageId: string
}

export type GenerateError = AiUnavailable | AiBudgetExhausted | AiGenerationFailed

/**
 * The Ai port for an organisation: its monthly budget checked before anything is sent to a provider, and
 * every generation recorded: a usage row with tokens and cost (ai_usage), an audit entry (failed ones too,
 * naming each provider's attempt), the token counters. The usage API reads the month's totals; an OWNER sets
 * the budget. Concurrent generations can overshoot a budget by what they cost: the check is before, the cost
 * after (a reservation would need the cost before the answer).
 */
export class AiUsage extends Effect.Service<AiUsage>()("@tapline/server/AiUsage", {
  effect: Effect.gen(function* () {
    const ai = yield* Ai
    const { ai: settings } = yield* AppConfig
    const repository = yield* AiUsageRepository
    const audit = yield* Audit

    const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

    /** The month's spend against the budget: AiBudgetExhausted once it is reached, before any request. */
    const checkBudget = (organizationId: OrganizationId) =>
      Effect.gen(function* () {
        const budget = yield* Effect.orDie(repository.budget(organizationId))
        if (budget === null) return
        const at = yield* now
        const month = monthOf(at)
        const spent = yield* Effect.orDie(repository.spent(organizationId, month.start, month.end))
        if (spent >= budget) {
          return yield* new AiBudgetExhausted({
            message: `the organisation's AI budget for ${month.label} is spent; it renews on ${month.end.toISOString().slice(0, 10)} (UTC), or when an OWNER raises it`,
            budgetUsd: budget,
            spentUsd: spent,
            retryAfterSeconds: Math.max(1, Math.ceil((month.end.getTime() - at.getTime()) / 1000))
          })
        }
      })

    /** The usage row and the audit entry, in one transaction. */
    const record = (request: GenerateRequest, answer: AiAnswer) =>
      Effect.gen(function* () {
        const costUsd = costOf(settings, answer.provider, answer.model, answer)
        const usageId = yield* repository
          .withTransaction(
            Effect.gen(function* () {
              const id = yield* repository.insert({
                organizationId: request.organizationId,
                provider: answer.provider,
                model: answer.model,
                purpose: request.purpose,
                inputTokens: answer.inputTokens,
                outputTokens: answer.outputTokens,
                costUsd
              })
              yield* audit.record({
                organizationId: request.organizationId,
                action: "ai.generated",
                resourceType: "ai_generation",
                resourceId: id,
                newValues: {
                  provider: answer.provider,
                  model: answer.model,
                  purpose: request.purpose,
                  inputTokens: answer.inputTokens,
                  outputTokens: answer.outputTokens,
                  costUsd,
                  tools: answer.toolUses.map((use) => use.name)
                }
              })
              return id
            })
          )
          .pipe(Effect.orDie)
        const generation: Generation = { ...answer, costUsd, usageId }
        return generation
      })

    /** A generation no provider completed is audited too, naming each attempt (no usage row: nothing billed). */
    const recordFailure = (request: GenerateRequest, failure: GenerateError) =>
      failure._tag === "AiGenerationFailed"
        ? audit.record({
            organizationId: request.organizationId,
            action: "ai.generation_failed",
            resourceType: "ai_generation",
            resourceId: null,
            newValues: {
              purpose: request.purpose,
              attempts: failure.attempts.map((a) => ({
                provider: a.provider,
                reason: a.reason,
                ...(a.status === undefined ? {} : { status: a.status })
              }))
            }
          })
        : Effect.void

    const generate = (request: GenerateRequest): Effect.Effect<Generation, GenerateError> =>
      Effect.gen(function* () {
        yield* ai.require
        yield* checkBudget(request.organizationId)
        const answer = yield* ai.generate(request)
        return yield* record(request, answer)
      }).pipe(
        Effect.tapError((failure) => recordFailure(request, failure)),
        Effect.withSpan("AiUsage.generate", { attributes: { "ai.purpose": request.purpose } })
      )

    /** The text as it comes; the last part is the recorded generation. */
    const stream = (request: GenerateRequest): Stream.Stream<AiStreamPart<Generation>, GenerateError> =>
      Stream.unwrap(
        Effect.gen(function* () {
          yield* ai.require
          yield* checkBudget(request.organizationId)
          return ai
            .stream(request)
            .pipe(
              Stream.mapEffect(
                (part): Effect.Effect<AiStreamPart<Generation>> =>
                  part._tag === "Done"
                    ? Effect.map(record(request, part.answer), (answer) => ({ _tag: "Done", answer }))
                    : Effect.succeed(part)
              )
            )
        })
      ).pipe(Stream.tapError((failure) => recordFailure(request, failure)))

    /** The month's usage (UTC; "2026-12", or the current month), per provider and in all. */
    const usage = (organizationId: OrganizationId, month?: string) =>
      Effect.gen(function* () {
        yield* ai.require
        const at = month === undefined ? yield* now : new Date(`${month}-01T00:00:00Z`)
        const range = monthOf(at)
        const providers = yield* Effect.orDie(repository.totals(organizationId, range.start, range.end))
        const monthlyBudgetUsd = yield* Effect.orDie(repository.budget(organizationId))
        const sum = (f: (p: (typeof providers)[number]) => number) => providers.reduce((n, p) => n + f(p), 0)
        const totals: AiUsageTotals = {
          organizationId,
          month: range.label,
          generations: sum((p) => p.generations),
          inputTokens: sum((p) => p.inputTokens),
          outputTokens: sum((p) => p.outputTokens),
          costUsd: sum((p) => p.costUsd),
          monthlyBudgetUsd,
          providers: providers.map((p) => ({ ...p, provider: p.provider as AiProviderName }))
        }
        return totals
      })

    /** An OWNER's monthly budget in dollars (null removes it), audited with the old and new values. */
    const setBudget = (organizationId: OrganizationId, monthlyBudgetUsd: number | null) =>
      Effect.gen(function* () {
        yield* ai.require
        yield* repository
          .withTransaction(
            Effect.gen(function* () {
              const old = yield* repository.budget(organizationId)
              yield* repository.setBudget(organizationId, monthlyBudgetUsd)
              yield* audit.record({
                organizationId,
                action: "ai.budget_set",
                resourceType: "ai_budget",
                resourceId: organizationId,
                oldValues: { monthlyBudgetUsd: old },
                newValues: { monthlyBudgetUsd }
              })
            })
          )
          .pipe(Effect.orDie)
        return { monthlyBudgetUsd }
      })

    /**
     * What `generate` and `stream` check before anything is sent: a provider is configured and the budget is
     * not spent. A streaming endpoint asks first, so these refusals are its status, not an event in the stream.
     */
    const admit = (organizationId: OrganizationId) => Effect.zipRight(ai.require, checkBudget(organizationId))

    return {
      available: ai.available,
      require: ai.require,
      admit,
      generate,
      stream,
      usage,
      setBudget
    } as const
  }),
  dependencies: [AiUsageRepository.Default, Audit.Default]
}) {}
