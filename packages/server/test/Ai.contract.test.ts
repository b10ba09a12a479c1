import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { SqlClient } from "@effect/sql"
import { afterAll, beforeAll, describe, expect, layer } from "@effect/vitest"
import type { OrganizationId } from "@tapline/domain"
import { ConfigProvider, Effect, Layer, Redacted, Schema, Stream } from "effect"
import * as Ai from "../src/Ai/Ai.js"
import type { AiProviderModel } from "../src/Ai/AiProvider.js"
import * as Anthropic from "../src/Ai/anthropic/Anthropic.js"
import * as AnthropicModel from "../src/Ai/anthropic/AnthropicModel.js"
import * as Gemini from "../src/Ai/gemini/Gemini.js"
import * as GeminiModel from "../src/Ai/gemini/GeminiModel.js"
import * as OpenAi from "../src/Ai/openai/OpenAi.js"
import * as OpenAiModel from "../src/Ai/openai/OpenAiModel.js"
import * as AiProviders from "../src/Ai/providers.js"
import { AiUsage, type GenerateRequest } from "../src/AiUsage/AiUsage.js"
import { AppConfig } from "../src/Config/AppConfig.js"
import { Metrics } from "../src/Telemetry/Metrics.js"
import { type AiPeer, startAiPeer } from "./support/AiPeers.js"
import { makeOrganization } from "./support/Fixtures.js"
import { auditActions, failureOf, serviceHarnessWith } from "./support/ServiceHarness.js"

/*
 * The Ai port against loopback peers speaking each provider's wire format (support/AiPeers.ts): the exact
 * request each client sends, the tool loop in each provider's format, JSON and streaming, the fallback order
 * in AI_PROVIDERS (429, 5xx and timeouts move on; a 400 or a refusal does not), usage and cost per
 * organisation, the monthly budget, and no AI at all without a key.
 */

const KEYS = { openai: "sk-test-openai-0001", anthropic: "sk-ant-test-0002", gemini: "AIza-test-gemini-0003" }
const PRICES = {
  "openai:gpt-4o-mini": { input: 0.15, output: 0.6 },
  "anthropic:claude-3-5-haiku-latest": { input: 0.8, output: 4 },
  "gemini:gemini-2.0-flash": { input: 0.1, output: 0.4 }
}

const services = serviceHarnessWith({
  AI_TIMEOUT: "1500 millis",
  AI_PRICES: JSON.stringify(PRICES)
})

let openai: AiPeer
let anthropic: AiPeer
let gemini: AiPeer

beforeAll(async () => {
  ;[openai, anthropic, gemini] = await Promise.all([
    startAiPeer("openai"),
    startAiPeer("anthropic"),
    startAiPeer("gemini")
  ])
})
afterAll(async () => {
  await Promise.all([openai?.close(), anthropic?.close(), gemini?.close()])
})

const reset = () => {
  for (const peer of [openai, anthropic, gemini]) peer.reset()
}

const model = {
  openai: () =>
    OpenAiModel.make({
      apiKey: Redacted.make(KEYS.openai),
      model: OpenAi.DEFAULT_MODEL,
      apiUrl: openai.baseUrl
    }),
  anthropic: () =>
    AnthropicModel.make({
      apiKey: Redacted.make(KEYS.anthropic),
      model: Anthropic.DEFAULT_MODEL,
      apiUrl: anthropic.baseUrl
    }),
  gemini: () =>
    GeminiModel.make({
      apiKey: Redacted.make(KEYS.gemini),
      model: Gemini.DEFAULT_MODEL,
      apiUrl: gemini.baseUrl
    })
} as const

type Name = keyof typeof model

/** AiUsage over the Ai port with these providers, in this order, on the shared database and config. */
const aiWith = (names: ReadonlyArray<Name>) =>
  Effect.provide(
    AiUsage,
    AiUsage.Default.pipe(
      Layer.provide(Ai.layer.pipe(Layer.provide(AiProviders.layer(names.map((name) => model[name]())))))
    )
  )

/** The analytics tool a recap would have: the peak minute of an event, answered from a fixed table. */
const PeakMinute = Tool.make("peak_minute", {
  description: "The minute with the most taps at an event, and how many",
  parameters: { eventId: Schema.String },
  success: Schema.Struct({ minute: Schema.String, taps: Schema.Number })
})
const Analytics = Toolkit.make(PeakMinute)
const toolCalls: Array<string> = []
const AnalyticsHandlers = Analytics.toLayer({
  peak_minute: ({ eventId }) =>
    Effect.sync(() => {
      toolCalls.push(eventId)
      return { minute: "2026-07-04T21:14:00Z", taps: 1234 }
    })
})
const toolkit = Effect.provide(Analytics, AnalyticsHandlers)

const request = (
  organizationId: OrganizationId,
  overrides: Partial<GenerateRequest> = {}
): GenerateRequest => ({
  organizationId,
  purpose: "recap",
  prompt: [
    { role: "system", content: "You write event recaps from Tapline's numbers." },
    { role: "user", content: "Recap the demo event." }
  ],
  ...overrides
})

const organization = Effect.suspend(() => Effect.map(makeOrganization(), (org) => org.id as OrganizationId))

const json = (peer: AiPeer, index: number) => peer.requests[index]!.body

describe("Ai port", () => {
  layer(services, { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.effect(
      "OpenAI: the Responses API with the bearer key, the model and the prompt; usage and cost recorded",
      () =>
        Effect.gen(function* () {
          reset()
          const org = yield* organization
          const ai = yield* aiWith(["openai"])
          openai.script({ text: "The peak came at 21:14.", usage: { input: 1000, output: 200 } })
          const generation = yield* ai.generate(request(org))
          expect(generation).toMatchObject({
            text: "The peak came at 21:14.",
            provider: "openai",
            model: "gpt-4o-mini",
            inputTokens: 1000,
            outputTokens: 200
          })
          // 1000 × 0.15 + 200 × 0.6 dollars per million tokens.
          expect(generation.costUsd).toBeCloseTo(0.00027, 9)
          const sent = openai.requests[0]!
          expect(sent.method).toBe("POST")
          expect(sent.url).toBe("/v1/responses")
          expect(sent.headers.authorization).toBe(`Bearer ${KEYS.openai}`)
          expect(sent.body.model).toBe("gpt-4o-mini")
          expect(sent.body.input).toEqual([
            { role: "system", content: "You write event recaps from Tapline's numbers." },
            { role: "user", content: [{ type: "input_text", text: "Recap the demo event." }] }
          ])
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{
            provider: string
            model: string
            inputTokens: number
            outputTokens: number
            costUsd: string
            purpose: string
          }>`
          select provider, model, input_tokens, output_tokens, cost_usd::text, purpose from ai_usage where organization_id = ${org}`
          expect(rows).toEqual([
            {
              provider: "openai",
              model: "gpt-4o-mini",
              inputTokens: 1000,
              outputTokens: 200,
              costUsd: "0.000270",
              purpose: "recap"
            }
          ])
          expect(yield* auditActions(generation.usageId)).toEqual(["ai.generated"])
        })
    )

    it.effect("Anthropic: /v1/messages with x-api-key and anthropic-version, the system prompt apart", () =>
      Effect.gen(function* () {
        reset()
        const org = yield* organization
        const ai = yield* aiWith(["anthropic"])
        anthropic.script({ text: "Recap from Claude.", usage: { input: 500, output: 100 } })
        const generation = yield* ai.generate(request(org))
        expect(generation).toMatchObject({
          text: "Recap from Claude.",
          provider: "anthropic",
          inputTokens: 500
        })
        expect(generation.costUsd).toBeCloseTo((500 * 0.8 + 100 * 4) / 1e6, 9)
        const sent = anthropic.requests[0]!
        expect(sent.url).toBe("/v1/messages?beta=true")
        expect(sent.headers["x-api-key"]).toBe(KEYS.anthropic)
        expect(sent.headers["anthropic-version"]).toBe("2023-06-01")
        expect(sent.headers.authorization).toBeUndefined()
        expect(sent.body).toMatchObject({
          model: "claude-3-5-haiku-latest",
          max_tokens: 4096,
          system: [{ type: "text", text: "You write event recaps from Tapline's numbers." }],
          messages: [{ role: "user", content: [{ type: "text", text: "Recap the demo event." }] }]
        })
      })
    )

    it.effect("Gemini: chat completions on its OpenAI-compatible endpoint with the bearer key", () =>
      Effect.gen(function* () {
        reset()
        const org = yield* organization
        const ai = yield* aiWith(["gemini"])
        gemini.script({ text: "Recap from Gemini.", usage: { input: 300, output: 50 } })
        const generation = yield* ai.generate(request(org))
        expect(generation).toMatchObject({
          text: "Recap from Gemini.",
          provider: "gemini",
          model: "gemini-2.0-flash"
        })
        const sent = gemini.requests[0]!
        expect(sent.url).toBe("/v1beta/openai/chat/completions")
        expect(sent.headers.authorization).toBe(`Bearer ${KEYS.gemini}`)
        expect(sent.body).toEqual({
          model: "gemini-2.0-flash",
          messages: [
            { role: "system", content: "You write event recaps from Tapline's numbers." },
            { role: "user", content: "Recap the demo event." }
          ]
        })
      })
    )

    for (const name of ["openai", "anthropic", "gemini"] as const) {
      it.effect(`${name}: the tool loop sends the tool's result back in the provider's format`, () =>
        Effect.gen(function* () {
          reset()
          toolCalls.length = 0
          const peer = { openai, anthropic, gemini }[name]
          const org = yield* organization
          const ai = yield* aiWith([name])
          peer.script(
            {
              toolCall: { id: "call_peak_1", name: "peak_minute", args: { eventId: "evt-demo" } },
              usage: { input: 100, output: 10 }
            },
            { text: "1234 taps at 21:14.", usage: { input: 150, output: 20 } }
          )
          const generation = yield* ai.generate(request(org, { toolkit: yield* toolkit }))
          expect(generation.text).toBe("1234 taps at 21:14.")
          expect(toolCalls).toEqual(["evt-demo"])
          expect(generation.toolUses).toEqual([
            {
              name: "peak_minute",
              params: { eventId: "evt-demo" },
              result: { minute: "2026-07-04T21:14:00Z", taps: 1234 },
              isFailure: false
            }
          ])
          // Both model calls are counted.
          expect([generation.inputTokens, generation.outputTokens]).toEqual([250, 30])
          expect(peer.requests).toHaveLength(2)
          const first = json(peer, 0)
          const second = json(peer, 1)
          const result = { minute: "2026-07-04T21:14:00Z", taps: 1234 }
          switch (name) {
            case "openai": {
              expect(first.tools).toEqual([
                expect.objectContaining({ type: "function", name: "peak_minute", strict: true })
              ])
              expect(second.input.slice(2)).toEqual([
                expect.objectContaining({
                  type: "function_call",
                  call_id: "call_peak_1",
                  name: "peak_minute"
                }),
                { type: "function_call_output", call_id: "call_peak_1", output: JSON.stringify(result) }
              ])
              break
            }
            case "anthropic": {
              expect(first.tools).toEqual([
                expect.objectContaining({
                  name: "peak_minute",
                  input_schema: expect.objectContaining({ type: "object" })
                })
              ])
              expect(second.messages.slice(1)).toEqual([
                {
                  role: "assistant",
                  content: [
                    {
                      type: "tool_use",
                      id: "call_peak_1",
                      name: "peak_minute",
                      input: { eventId: "evt-demo" }
                    }
                  ]
                },
                {
                  role: "user",
                  content: [expect.objectContaining({ type: "tool_result", tool_use_id: "call_peak_1" })]
                }
              ])
              const sentBack = second.messages[2].content[0].content
              expect(typeof sentBack === "string" ? JSON.parse(sentBack) : sentBack).toEqual(result)
              break
            }
            case "gemini": {
              expect(first.tools).toEqual([
                {
                  type: "function",
                  function: expect.objectContaining({
                    name: "peak_minute",
                    description: "The minute with the most taps at an event, and how many",
                    parameters: expect.objectContaining({ type: "object", required: ["eventId"] })
                  })
                }
              ])
              expect(first.tool_choice).toBe("auto")
              expect(second.messages.slice(2)).toEqual([
                {
                  role: "assistant",
                  content: null,
                  tool_calls: [
                    {
                      id: "call_peak_1",
                      type: "function",
                      function: { name: "peak_minute", arguments: JSON.stringify({ eventId: "evt-demo" }) }
                    }
                  ]
                },
                { role: "tool", tool_call_id: "call_peak_1", content: JSON.stringify(result) }
              ])
              break
            }
          }
        })
      )

      it.effect(`${name}: streams text as SSE, tools in between, and records the usage at the end`, () =>
        Effect.gen(function* () {
          reset()
          const peer = { openai, anthropic, gemini }[name]
          const org = yield* organization
          const ai = yield* aiWith([name])
          peer.script(
            {
              toolCall: { id: "call_peak_2", name: "peak_minute", args: { eventId: "evt-demo" } },
              usage: { input: 40, output: 4 }
            },
            { text: "Streaming the recap: 1234 taps.", usage: { input: 60, output: 9 } }
          )
          const parts = yield* Stream.runCollect(ai.stream(request(org, { toolkit: yield* toolkit })))
          const list = Array.from(parts)
          const deltas = list.flatMap((part) => (part._tag === "TextDelta" ? [part.delta] : []))
          expect(deltas.length).toBeGreaterThan(1)
          expect(deltas.join("")).toBe("Streaming the recap: 1234 taps.")
          const done = list.at(-1)!
          expect(done._tag).toBe("Done")
          if (done._tag === "Done") {
            expect(done.answer).toMatchObject({
              provider: name,
              text: "Streaming the recap: 1234 taps.",
              inputTokens: 100,
              outputTokens: 13
            })
            expect(done.answer.toolUses.map((use) => use.name)).toEqual(["peak_minute"])
          }
          expect(peer.requests.map((r) => r.body.stream)).toEqual([true, true])
          const usage = yield* ai.usage(org)
          expect(usage.providers).toEqual([
            expect.objectContaining({ provider: name, generations: 1, inputTokens: 100, outputTokens: 13 })
          ])
        })
      )
    }

    it.effect("fallback: a 429, a 5xx, a timeout or a refused key at OpenAI moves to Anthropic", () =>
      Effect.gen(function* () {
        const org = yield* organization
        const ai = yield* aiWith(["openai", "anthropic", "gemini"])
        for (const failure of [
          { status: 429, headers: { "retry-after": "20" } },
          { status: 503 },
          { status: 401, message: "Incorrect API key provided" },
          { status: 403, message: "Project does not have access" },
          "stall" as const
        ]) {
          reset()
          openai.script(failure)
          anthropic.script({ text: "Anthropic carried it." })
          const generation = yield* ai.generate(request(org))
          expect(generation.provider).toBe("anthropic")
          expect(generation.text).toBe("Anthropic carried it.")
          expect([openai.requests.length, anthropic.requests.length, gemini.requests.length]).toEqual([
            1, 1, 0
          ])
        }
      })
    )

    it.effect("fallback in a stream: a 429 before any text moves on; Gemini's content filter stops it", () =>
      Effect.gen(function* () {
        reset()
        const org = yield* organization
        const ai = yield* aiWith(["openai", "gemini"])
        openai.script({ status: 429 })
        gemini.script({ text: "Gemini streamed it." })
        const parts = Array.from(yield* Stream.runCollect(ai.stream(request(org))))
        expect(parts.flatMap((p) => (p._tag === "TextDelta" ? [p.delta] : [])).join("")).toBe(
          "Gemini streamed it."
        )
        expect(parts.at(-1)).toMatchObject({ _tag: "Done", answer: { provider: "gemini" } })
        expect(gemini.requests[0]!.body).toMatchObject({
          stream: true,
          stream_options: { include_usage: true }
        })

        reset()
        const onlyGemini = yield* aiWith(["gemini", "openai"])
        gemini.script("refusal")
        const refused = yield* Effect.flip(Stream.runDrain(onlyGemini.stream(request(org))))
        expect(refused.message).toBe("gemini: the model refused")
        expect(openai.requests).toHaveLength(0)
      })
    )

    it.effect("fallback: a 400 or a refusal does not move on; all failing names each provider", () =>
      Effect.gen(function* () {
        const org = yield* organization
        const ai = yield* aiWith(["openai", "anthropic", "gemini"])

        reset()
        openai.script({ status: 400, message: "Invalid 'input'" })
        const invalid = yield* Effect.flip(ai.generate(request(org)))
        expect(invalid._tag).toBe("AiGenerationFailed")
        expect(invalid.message).toBe("openai: 400 refused the request")
        expect([anthropic.requests.length, gemini.requests.length]).toEqual([0, 0])

        // OpenAI's refusal part (its client hands it over as empty text with the refusal in metadata).
        reset()
        openai.script("refusal")
        const openAiRefused = yield* Effect.flip(ai.generate(request(org)))
        expect(openAiRefused.message).toBe("openai: the model refused")
        expect([anthropic.requests.length, gemini.requests.length]).toEqual([0, 0])

        reset()
        openai.script({ status: 500 })
        anthropic.script("refusal")
        const refused = yield* Effect.flip(ai.generate(request(org)))
        expect(refused.message).toBe("openai: 500; anthropic: the model refused")
        expect(gemini.requests).toHaveLength(0)

        reset()
        openai.script({ status: 429 })
        anthropic.script({ status: 529 })
        gemini.script({ status: 503 })
        const all = yield* Effect.flip(ai.generate(request(org)))
        expect(all._tag).toBe("AiGenerationFailed")
        if (all._tag === "AiGenerationFailed") {
          expect(all.attempts.map((a) => [a.provider, a.reason, a.status])).toEqual([
            ["openai", "rate_limited", 429],
            ["anthropic", "unavailable", 529],
            ["gemini", "unavailable", 503]
          ])
        }
        expect(all.message).toBe("openai: 429 rate limited; anthropic: 529; gemini: 503")
        // No key or header in what the error says.
        expect(JSON.stringify(all)).not.toContain("sk-")
        expect(JSON.stringify(all)).not.toContain("AIza")
        const sql = yield* SqlClient.SqlClient
        const failed = yield* sql<{ count: number }>`
          select count(*)::int from audit_log where organization_id = ${org} and action = 'ai.generation_failed'`
        expect(failed[0]!.count).toBe(4)

        // The metric counts attempts by provider and outcome, and carries no organisation.
        const metrics = yield* Metrics
        const values = (yield* Effect.promise(() => metrics.aiGenerations.get())).values
        expect(values.every((v) => Object.keys(v.labels).sort().join() === "outcome,provider")).toBe(true)
        expect(
          values.find((v) => v.labels.provider === "gemini" && v.labels.outcome === "unavailable")?.value
        ).toBe(1)
        const tokens = (yield* Effect.promise(() => metrics.aiTokens.get())).values
        expect(tokens.every((v) => Object.keys(v.labels).sort().join() === "kind,provider")).toBe(true)
      })
    )

    it.effect(
      "budget: an OWNER's budget, audited; once spent, 429 AiBudgetExhausted and nothing is sent",
      () =>
        Effect.gen(function* () {
          reset()
          const org = yield* organization
          const ai = yield* aiWith(["openai", "anthropic"])
          expect(yield* ai.setBudget(org, 0.5)).toEqual({ monthlyBudgetUsd: 0.5 })
          expect(yield* auditActions(org)).toEqual(["ai.budget_set"])
          openai.script({ text: "one", usage: { input: 1_000_000, output: 200_000 } }) // 0.27 dollars
          yield* ai.generate(request(org))
          openai.script({ text: "two", usage: { input: 1_000_000, output: 200_000 } })
          yield* ai.generate(request(org)) // 0.54: over the budget now
          const sentBefore = openai.requests.length + anthropic.requests.length
          const exhausted = yield* Effect.flip(ai.generate(request(org)))
          expect(exhausted._tag).toBe("AiBudgetExhausted")
          if (exhausted._tag === "AiBudgetExhausted") {
            expect(exhausted.budgetUsd).toBe(0.5)
            expect(exhausted.spentUsd).toBeCloseTo(0.54, 9)
            expect(exhausted.retryAfterSeconds).toBeGreaterThan(0)
          }
          const streamed = yield* Effect.flip(Stream.runDrain(ai.stream(request(org))))
          expect(streamed._tag).toBe("AiBudgetExhausted")
          expect(openai.requests.length + anthropic.requests.length).toBe(sentBefore)

          const usage = yield* ai.usage(org)
          expect(usage).toMatchObject({
            generations: 2,
            inputTokens: 2_000_000,
            outputTokens: 400_000,
            monthlyBudgetUsd: 0.5
          })
          expect(usage.costUsd).toBeCloseTo(0.54, 9)
          expect(usage.month).toMatch(/^\d{4}-\d{2}$/)

          // Raising it (or removing it) lets generations through again.
          yield* ai.setBudget(org, null)
          openai.script({ text: "three" })
          expect((yield* ai.generate(request(org))).text).toBe("three")
        })
    )

    it.effect("no key: AiUnavailable for every call, and nothing configured from AI_PROVIDERS", () =>
      Effect.gen(function* () {
        reset()
        const org = yield* organization
        const ai = yield* aiWith([])
        expect(ai.available).toBe(false)
        expect(yield* failureOf(ai.generate(request(org)))).toContain("AiUnavailable")
        expect(yield* failureOf(ai.usage(org))).toContain("AiUnavailable")
        expect(yield* failureOf(ai.setBudget(org, 10))).toContain("AiUnavailable")

        // The registry: AI_PROVIDERS' order, providers without a key left out, none without any key.
        const configured = (env: Record<string, string>) =>
          Effect.provide(
            AiProviders.AiModels,
            AiProviders.layerConfig.pipe(
              Layer.provide(AppConfig.layer),
              Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
            )
          ).pipe(
            Effect.map((models: ReadonlyArray<AiProviderModel>) =>
              models.map((m) => `${m.provider}:${m.model}`)
            )
          )
        expect(yield* configured({})).toEqual([])
        expect(yield* configured({ OPENAI_API_KEY: " " })).toEqual([])
        expect(
          yield* configured({
            AI_PROVIDERS: "gemini,openai",
            OPENAI_API_KEY: "k1",
            ANTHROPIC_API_KEY: "k2",
            GEMINI_API_KEY: "k3",
            GEMINI_MODEL: "gemini-2.5-flash"
          })
        ).toEqual(["gemini:gemini-2.5-flash", "openai:gpt-4o-mini"])
        expect(yield* configured({ ANTHROPIC_API_KEY: "k2", OPENAI_API_KEY: "k1" })).toEqual([
          "openai:gpt-4o-mini",
          "anthropic:claude-3-5-haiku-latest"
        ])
        expect(yield* failureOf(configured({ AI_PROVIDERS: "openai,mistral" }))).toContain("AI_PROVIDERS")
        expect(yield* failureOf(configured({ AI_PRICES: '{"openai:x":{"input":"a"}}' }))).toContain(
          "AI_PRICES"
        )
      })
    )
  })
})
