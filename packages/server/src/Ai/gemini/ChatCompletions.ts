import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import { OpenAiClient } from "@effect/ai-openai/OpenAiClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Effect, Layer, Schema, Stream } from "effect"

/*
 * A LanguageModel over OpenAI's chat completions wire format (POST /chat/completions, JSON and SSE), for the
 * OpenAI-compatible endpoints that do not speak the Responses API, Gemini's first. The HTTP client is
 * OpenAiClient's (base URL, bearer key, its SSE reader); the request and the answer are read here, loosely:
 * a compatible endpoint leaves out fields OpenAI's own schema insists on.
 */

const ToolCall = Schema.Struct({
  id: Schema.String,
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})

const Usage = Schema.Struct({
  prompt_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
  completion_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
  total_tokens: Schema.optional(Schema.NullOr(Schema.Number))
})

const Completion = Schema.Struct({
  id: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  choices: Schema.Array(
    Schema.Struct({
      message: Schema.Struct({
        content: Schema.optional(Schema.NullOr(Schema.String)),
        refusal: Schema.optional(Schema.NullOr(Schema.String)),
        tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ToolCall)))
      }),
      finish_reason: Schema.optional(Schema.NullOr(Schema.String))
    })
  ),
  usage: Schema.optional(Schema.NullOr(Usage))
})

const ToolCallDelta = Schema.Struct({
  index: Schema.optional(Schema.Number),
  id: Schema.optional(Schema.NullOr(Schema.String)),
  function: Schema.optional(
    Schema.Struct({
      name: Schema.optional(Schema.NullOr(Schema.String)),
      arguments: Schema.optional(Schema.NullOr(Schema.String))
    })
  )
})

const Chunk = Schema.Struct({
  choices: Schema.optionalWith(
    Schema.Array(
      Schema.Struct({
        delta: Schema.optional(
          Schema.NullOr(
            Schema.Struct({
              content: Schema.optional(Schema.NullOr(Schema.String)),
              refusal: Schema.optional(Schema.NullOr(Schema.String)),
              tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ToolCallDelta)))
            })
          )
        ),
        finish_reason: Schema.optional(Schema.NullOr(Schema.String))
      })
    ),
    { default: () => [] }
  ),
  usage: Schema.optional(Schema.NullOr(Usage))
})

const finishReason = (reason: string | null | undefined): Response.FinishReason => {
  switch (reason) {
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    case "content_filter":
      return "content-filter"
    default:
      return reason === null || reason === undefined ? "unknown" : "other"
  }
}

const usageOf = (usage: typeof Usage.Type | null | undefined) => ({
  inputTokens: usage?.prompt_tokens ?? undefined,
  outputTokens: usage?.completion_tokens ?? undefined,
  totalTokens:
    usage?.total_tokens ?? (usage ? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0) : undefined)
})

const text = (parts: ReadonlyArray<Prompt.Part>) =>
  parts.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("")

/** The prompt as chat messages: a tool's result goes back as a `tool` message naming the call it answers. */
const messagesOf = (prompt: Prompt.Prompt): Array<unknown> =>
  prompt.content.flatMap((message): Array<unknown> => {
    switch (message.role) {
      case "system":
        return [{ role: "system", content: message.content }]
      case "user":
        return [{ role: "user", content: text(message.content) }]
      case "assistant": {
        const calls = message.content.flatMap((part) =>
          part.type === "tool-call"
            ? [
                {
                  id: part.id,
                  type: "function",
                  function: { name: part.name, arguments: JSON.stringify(part.params) }
                }
              ]
            : []
        )
        const content = text(message.content)
        return [
          {
            role: "assistant",
            content: content.length > 0 ? content : null,
            ...(calls.length > 0 ? { tool_calls: calls } : {})
          }
        ]
      }
      case "tool":
        return message.content.map((part) => ({
          role: "tool",
          tool_call_id: part.id,
          content: JSON.stringify(part.result)
        }))
      default:
        return []
    }
  })

const toolChoiceOf = (choice: LanguageModel.ProviderOptions["toolChoice"]): unknown => {
  if (choice === "auto" || choice === "none" || choice === "required") return choice
  if ("tool" in choice) return { type: "function", function: { name: choice.tool } }
  return choice.mode === "required" ? "required" : "auto"
}

const requestOf = (model: string, options: LanguageModel.ProviderOptions) => {
  const tools = options.tools.filter(Tool.isUserDefined).map((tool) => ({
    type: "function",
    function: {
      name: tool.name,
      description: Tool.getDescription(tool as never),
      parameters: Tool.getJsonSchema(tool as never)
    }
  }))
  return {
    model,
    messages: messagesOf(options.prompt),
    ...(tools.length > 0 ? { tools, tool_choice: toolChoiceOf(options.toolChoice) } : {})
  }
}

const parseArguments = (module: string, method: string, text: string) =>
  Effect.try({
    try: () => (text.trim().length === 0 ? {} : (JSON.parse(text) as unknown)),
    catch: (cause) =>
      new AiError.MalformedOutput({ module, method, description: "tool call arguments are not JSON", cause })
  })

export const make = (options: { readonly model: string; readonly module: string }) =>
  Effect.gen(function* () {
    const client = yield* OpenAiClient
    const module = options.module

    const generateText = (providerOptions: LanguageModel.ProviderOptions) =>
      Effect.gen(function* () {
        const body = requestOf(options.model, providerOptions)
        const completion = yield* HttpClientRequest.post("/chat/completions").pipe(
          HttpClientRequest.bodyUnsafeJson(body),
          (request) => client.client.httpClient.execute(request),
          Effect.flatMap(HttpClientResponse.filterStatusOk),
          Effect.flatMap(HttpClientResponse.schemaBodyJson(Completion)),
          Effect.scoped,
          Effect.catchTags({
            RequestError: (error) =>
              Effect.fail(
                AiError.HttpRequestError.fromRequestError({ module, method: "generateText", error })
              ),
            ResponseError: (error) =>
              AiError.HttpResponseError.fromResponseError({ module, method: "generateText", error }),
            ParseError: (error) =>
              Effect.fail(AiError.MalformedOutput.fromParseError({ module, method: "generateText", error }))
          })
        )
        const choice = completion.choices[0]
        const parts: Array<Response.PartEncoded> = []
        const content = choice?.message.content ?? choice?.message.refusal ?? ""
        if (content.length > 0) parts.push({ type: "text", text: content })
        for (const call of choice?.message.tool_calls ?? []) {
          parts.push({
            type: "tool-call",
            id: call.id,
            name: call.function.name,
            params: yield* parseArguments(module, "generateText", call.function.arguments),
            providerExecuted: false
          })
        }
        parts.push({
          type: "finish",
          reason: choice?.message.refusal ? "content-filter" : finishReason(choice?.finish_reason),
          usage: usageOf(completion.usage)
        })
        return parts
      })

    const streamText = (providerOptions: LanguageModel.ProviderOptions) =>
      Stream.suspend(() => {
        // What the deltas built so far: the text's part id, each tool call by its index, the last finish reason.
        const textId = "text-0"
        let textOpen = false
        let reason: string | null | undefined
        let usage: typeof Usage.Type | null | undefined
        const calls = new Map<number, { id: string; name: string; arguments: string }>()
        const request = HttpClientRequest.post("/chat/completions").pipe(
          HttpClientRequest.bodyUnsafeJson({
            ...requestOf(options.model, providerOptions),
            stream: true,
            stream_options: { include_usage: true }
          })
        )
        const deltas = client.streamRequest(request, Chunk).pipe(
          Stream.mapConcat((chunk): Array<Response.StreamPartEncoded> => {
            const out: Array<Response.StreamPartEncoded> = []
            if (chunk.usage) usage = chunk.usage
            for (const choice of chunk.choices) {
              if (choice.finish_reason) reason = choice.finish_reason
              const delta = choice.delta
              const piece = delta?.content ?? delta?.refusal ?? ""
              if (delta?.refusal) reason = "content_filter"
              if (piece.length > 0) {
                if (!textOpen) {
                  textOpen = true
                  out.push({ type: "text-start", id: textId })
                }
                out.push({ type: "text-delta", id: textId, delta: piece })
              }
              for (const call of delta?.tool_calls ?? []) {
                const index = call.index ?? 0
                const known = calls.get(index) ?? { id: "", name: "", arguments: "" }
                calls.set(index, {
                  id: call.id ?? known.id,
                  name: call.function?.name ?? known.name,
                  arguments: known.arguments + (call.function?.arguments ?? "")
                })
              }
            }
            return out
          })
        )
        const ending = Effect.gen(function* () {
          const out: Array<Response.StreamPartEncoded> = []
          if (textOpen) out.push({ type: "text-end", id: textId })
          for (const call of calls.values()) {
            out.push({
              type: "tool-call",
              id: call.id,
              name: call.name,
              params: yield* parseArguments(module, "streamText", call.arguments),
              providerExecuted: false
            })
          }
          out.push({ type: "finish", reason: finishReason(reason), usage: usageOf(usage) })
          return out
        })
        return Stream.concat(deltas, Stream.flatMap(Stream.fromEffect(ending), Stream.fromIterable))
      })

    return yield* LanguageModel.make({ generateText, streamText })
  })

/** A LanguageModel on chat completions, over the OpenAiClient it is given (its base URL and key). */
export const layer = (options: { readonly model: string; readonly module: string }) =>
  Layer.effect(LanguageModel.LanguageModel, make(options))
