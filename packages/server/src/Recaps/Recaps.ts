import type * as Prompt from "@effect/ai/Prompt"
import type * as SqlClient from "@effect/sql/SqlClient"
import {
  type CreateRecap,
  DependencyUnavailable,
  InvalidRequest,
  type OrganizationId,
  type PageParams,
  Recap,
  type RecapGrounding,
  RecapId,
  type RecapToolCall,
  stripControlCharacters
} from "@tapline/domain"
import { DateTime, Effect, Schema, Stream } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage } from "../Admin/Pagination.js"
import type { AiGenerationFailed, AiStreamPart } from "../Ai/Ai.js"
import { AiUsage, type GenerateError, type Generation } from "../AiUsage/AiUsage.js"
import type { Analytics } from "../Analytics/Analytics.js"
import { Audit } from "../Audit/Audit.js"
import * as Grounding from "./Grounding.js"
import * as LocalTime from "./LocalTime.js"
import { RecapRepository, type RecapRow } from "./RecapRepository.js"
import { type RecapScope, toolkitFor } from "./RecapTools.js"

/** A message of the recap stream, as the SSE response writes it. */
export type RecapStreamMessage =
  | { readonly event: "text"; readonly data: { readonly delta: string } }
  | { readonly event: "regenerating"; readonly data: { readonly unmatched: ReadonlyArray<string> } }
  | { readonly event: "done"; readonly data: typeof Recap.Encoded }
  | { readonly event: "error"; readonly data: { readonly _tag: string; readonly message: string } }

const MAX_RANGE_MS = 400 * 24 * 3_600_000

const system = (scope: RecapScope) =>
  [
    "You write the recap an event organiser sends to their team and sponsors after a show.",
    "Write Markdown: a '# ' title line, then 120 to 300 words: the headline figures, the peak minute,",
    "engagement per window, the bands that came back, and the top sponsor activations when there are any.",
    "Get every figure from the tools. Write only numbers a tool returned, rounded as you show them; write",
    "shares as percentages (0.457 as 45.7%). Do not estimate, add up or derive numbers of your own.",
    `Times are local to ${scope.timezone}; write them as the tools do.`
  ].join(" ")

const subjectLine = (scope: RecapScope) => {
  const local = LocalTime.day(scope.timezone)
  const range =
    scope.from !== null && scope.to !== null
      ? ` from ${local(scope.from)} to ${local(scope.to)}`
      : scope.from !== null
        ? ` from ${local(scope.from)}`
        : scope.to !== null
          ? ` until ${local(scope.to)}`
          : ""
  const what = scope.type === "organization" ? "all events of" : `the ${scope.type}`
  return `Recap ${what} "${scope.name}"${range}.`
}

const promptFor = (scope: RecapScope, unmatched: ReadonlyArray<string> = []): Prompt.RawInput => [
  { role: "system", content: system(scope) },
  {
    role: "user",
    content:
      unmatched.length === 0
        ? subjectLine(scope)
        : `${subjectLine(scope)} A first draft wrote numbers no tool returned (${unmatched.join(", ")}): use only the tools' numbers.`
  }
]

/** A model's text as it can be kept: lines without control characters, tabs as spaces. */
const keepable = (text: string) =>
  text
    .split("\n")
    .map((line) => stripControlCharacters(line.replaceAll("\t", "    ")))
    .join("\n")
    .slice(0, 100_000)

const failed = (failure: AiGenerationFailed) =>
  new DependencyUnavailable({
    message: `no language-model provider could write the recap (${failure.attempts
      .map((a) => `${a.provider}: ${a.reason}`)
      .join(", ")})`
  })

const toolCallsOf = (generation: Generation): Array<RecapToolCall> =>
  generation.toolUses.map((use) => ({ name: use.name, params: use.params, result: use.result }))

/**
 * AI recaps of an event, a campaign or the organisation over a range (issue 35; docs/recaps.md). The model
 * writes from the analytics tools (RecapTools.ts); the text is checked against what they returned
 * (Grounding.ts): a draft with an unmatched number is written again once, and what is still unmatched is
 * marked `[unverified]`. The recap is kept with the tool calls of the draft it came from; both drafts are
 * billed and audited through AiUsage.
 */
export class Recaps extends Effect.Service<Recaps>()("@tapline/server/Recaps", {
  effect: Effect.gen(function* () {
    const usage = yield* AiUsage
    const repository = yield* RecapRepository
    const audit = yield* Audit
    const changes = yield* Changes
    const context = yield* Effect.context<Analytics | RecapRepository | SqlClient.SqlClient>()

    const invalid = (message: string) => Effect.fail(new InvalidRequest({ message }))

    const resolve = (organizationId: OrganizationId, input: CreateRecap) =>
      Effect.gen(function* () {
        const from = input.from === undefined ? null : DateTime.toDate(input.from)
        const to = input.to === undefined ? null : DateTime.toDate(input.to)
        if (input.eventId !== undefined && input.campaignId !== undefined) {
          return yield* invalid("a recap covers an event or a campaign, not both")
        }
        if (from !== null && to !== null && from.getTime() >= to.getTime()) {
          return yield* invalid("`from` must be before `to`")
        }
        if (input.eventId === undefined && input.campaignId === undefined) {
          if (from === null || to === null) {
            return yield* invalid(
              "a recap of the organisation needs `from` and `to` (or an eventId or campaignId)"
            )
          }
          if (to.getTime() - from.getTime() > MAX_RANGE_MS) {
            return yield* invalid("a recap covers at most 400 days")
          }
          const org = yield* Effect.orDie(repository.organization(organizationId))
          return {
            organizationId,
            type: "organization",
            id: null,
            name: org.name,
            timezone: org.timezone,
            from,
            to,
            dates: { from, to, timezone: org.timezone }
          } satisfies RecapScope
        }
        const type = input.eventId !== undefined ? "event" : "campaign"
        const id = (input.eventId ?? input.campaignId)!
        const subject = yield* Effect.orDie(
          type === "event" ? repository.event(organizationId, id) : repository.campaign(organizationId, id)
        )
        if (subject === undefined) return yield* changes.notFound(type, id)
        const first = from ?? subject.from
        const last = to ?? subject.to
        return {
          organizationId,
          type,
          id,
          name: subject.name,
          timezone: subject.timezone,
          from,
          to,
          dates:
            first !== null && last !== null ? { from: first, to: last, timezone: subject.timezone } : null
        } satisfies RecapScope
      })

    const toRecap = (row: RecapRow) =>
      Schema.decodeUnknown(Recap)({
        id: row.id,
        subject: { type: row.subjectType, id: row.subjectId, name: row.subjectName },
        from: row.rangeFrom?.toISOString() ?? null,
        to: row.rangeTo?.toISOString() ?? null,
        text: row.text,
        grounding: row.grounding,
        toolCalls: row.toolCalls,
        provider: row.provider,
        model: row.model,
        inputTokens: row.inputTokens,
        outputTokens: row.outputTokens,
        costUsd: Number(row.costUsd),
        createdAt: row.createdAt.toISOString(),
        editedAt: row.editedAt?.toISOString() ?? null
      }).pipe(Effect.orDie)

    /** Keeps the recap (the last draft, marked) and audits it, in one transaction. */
    const store = (
      scope: RecapScope,
      drafts: ReadonlyArray<Generation>,
      text: string,
      grounding: RecapGrounding
    ) =>
      Effect.gen(function* () {
        const last = drafts[drafts.length - 1]!
        const row = yield* repository
          .withTransaction(
            Effect.gen(function* () {
              const row = yield* repository.insert({
                organizationId: scope.organizationId,
                subjectType: scope.type,
                subjectId: scope.id,
                subjectName: scope.name,
                rangeFrom: scope.from,
                rangeTo: scope.to,
                text,
                generatedText: text,
                grounding,
                toolCalls: toolCallsOf(last),
                provider: last.provider,
                model: last.model,
                inputTokens: drafts.reduce((n, d) => n + d.inputTokens, 0),
                outputTokens: drafts.reduce((n, d) => n + d.outputTokens, 0),
                costUsd: drafts.reduce((n, d) => n + d.costUsd, 0)
              })
              yield* audit.record({
                organizationId: scope.organizationId,
                action: "recap.created",
                resourceType: "recap",
                resourceId: row.id,
                newValues: {
                  subject: { type: scope.type, id: scope.id },
                  grounded: grounding.grounded,
                  regenerated: grounding.regenerated,
                  unmatched: grounding.unmatched,
                  generations: drafts.map((d) => d.usageId)
                }
              })
              return row
            })
          )
          .pipe(Effect.orDie)
        return yield* toRecap(row)
      })

    const checked = (scope: RecapScope, generation: Generation) =>
      Grounding.check(
        generation.text,
        generation.toolUses.map((use) => use.result),
        scope.dates
      )

    /** The second draft's verdict: grounded, or marked where it is not. */
    const finish = (scope: RecapScope, drafts: ReadonlyArray<Generation>) => {
      const last = drafts[drafts.length - 1]!
      const verdict = checked(scope, last)
      return store(scope, drafts, keepable(Grounding.mark(last.text, verdict.unmatched)) || "(empty)", {
        grounded: verdict.grounded,
        regenerated: drafts.length > 1,
        unmatched: verdict.unmatched.map((token) => token.text)
      })
    }

    const request = (scope: RecapScope, unmatched?: ReadonlyArray<string>) =>
      Effect.map(toolkitFor(scope).pipe(Effect.provide(context)), (toolkit) => ({
        organizationId: scope.organizationId,
        purpose: "recap",
        prompt: promptFor(scope, unmatched),
        toolkit
      }))

    const create = Effect.fn("Recaps.create")(function* (organizationId: OrganizationId, input: CreateRecap) {
      yield* usage.require
      const scope = yield* resolve(organizationId, input)
      const generate = (unmatched?: ReadonlyArray<string>) =>
        Effect.flatMap(request(scope, unmatched), usage.generate).pipe(
          Effect.catchTag("AiGenerationFailed", (failure) => Effect.fail(failed(failure)))
        )
      const first = yield* generate()
      const verdict = checked(scope, first)
      if (verdict.grounded) return yield* finish(scope, [first])
      const second = yield* generate(verdict.unmatched.map((token) => token.text))
      return yield* finish(scope, [first, second])
    })

    /**
     * The same, as it is written: text deltas, `regenerating` when the first draft is dropped, then `done`
     * with the stored recap. Refusals (bad scope, no provider, budget spent) fail the effect, before a byte
     * is sent; a failure of every provider mid-way is an `error` message.
     */
    const stream = Effect.fn("Recaps.stream")(function* (organizationId: OrganizationId, input: CreateRecap) {
      yield* usage.require
      const scope = yield* resolve(organizationId, input)
      yield* usage.admit(organizationId)
      const draft = (
        unmatched: ReadonlyArray<string> | undefined,
        then: (generation: Generation) => Stream.Stream<RecapStreamMessage, GenerateError>
      ): Stream.Stream<RecapStreamMessage, GenerateError> =>
        Stream.unwrap(Effect.map(request(scope, unmatched), usage.stream)).pipe(
          Stream.flatMap((part: AiStreamPart<Generation>) =>
            part._tag === "TextDelta"
              ? Stream.succeed<RecapStreamMessage>({ event: "text", data: { delta: part.delta } })
              : then(part.answer)
          )
        )
      const done = (drafts: ReadonlyArray<Generation>) =>
        Stream.fromEffect(
          Effect.map(
            finish(scope, drafts),
            (recap): RecapStreamMessage => ({ event: "done", data: Schema.encodeSync(Recap)(recap) })
          )
        )
      return draft(undefined, (first) => {
        const verdict = checked(scope, first)
        if (verdict.grounded) return done([first])
        const unmatched = verdict.unmatched.map((token) => token.text)
        return Stream.concat(
          Stream.succeed<RecapStreamMessage>({ event: "regenerating", data: { unmatched } }),
          draft(unmatched, (second) => done([first, second]))
        )
      }).pipe(
        Stream.catchAll((failure) =>
          Stream.succeed<RecapStreamMessage>({
            event: "error",
            data: failure._tag === "AiGenerationFailed" ? failed(failure) : failure
          })
        ),
        Stream.map(
          (message): RecapStreamMessage =>
            message.event === "error"
              ? { event: "error", data: { _tag: message.data._tag, message: message.data.message } }
              : message
        )
      )
    })

    // Without a provider there is no AI feature: its recaps are not served either (404 AiUnavailable).
    const get = Effect.fn("Recaps.get")(function* (organizationId: OrganizationId, id: RecapId) {
      yield* usage.require
      const row = yield* changes.found("recap", id, repository.find(organizationId, id))
      return yield* toRecap(row)
    })

    const list = Effect.fn("Recaps.list")(function* (organizationId: OrganizationId, page: PageParams) {
      yield* usage.require
      return yield* listPage(
        page,
        (query) => repository.list(organizationId, query.after, query.limit),
        (row) =>
          Effect.map(toRecap(row), (recap) => ({
            id: recap.id,
            subject: recap.subject,
            from: recap.from,
            to: recap.to,
            grounded: recap.grounding.grounded,
            provider: recap.provider,
            createdAt: recap.createdAt,
            editedAt: recap.editedAt
          })),
        (item) => item.id,
        (key) => Schema.is(RecapId)(key)
      )
    })

    /** The organiser's edit: the text only; the grounding and tool calls stay those of the generation. */
    const update = Effect.fn("Recaps.update")(function* (
      organizationId: OrganizationId,
      id: RecapId,
      text: string
    ) {
      yield* usage.require
      const row = yield* repository
        .withTransaction(
          Effect.gen(function* () {
            const old = yield* repository.find(organizationId, id)
            if (old === undefined) return undefined
            const row = yield* repository.updateText(organizationId, id, text)
            yield* audit.record({
              organizationId,
              action: "recap.edited",
              resourceType: "recap",
              resourceId: id,
              oldValues: { textLength: old.text.length },
              newValues: { textLength: text.length }
            })
            return row
          })
        )
        .pipe(Effect.orDie)
      if (row === undefined) return yield* changes.notFound("recap", id)
      return yield* toRecap(row)
    })

    return { create, stream, get, list, update } as const
  }),
  dependencies: [RecapRepository.Default]
}) {}
