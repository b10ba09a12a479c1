import * as Http from "node:http"
import { freePort } from "@tapline/testing/ports"

/*
 * Loopback stand-ins for the language-model providers, each speaking its documented wire format in JSON and
 * in SSE (when the request asks `stream: true`): OpenAI's Responses API (what @effect/ai-openai 0.41 sends),
 * Anthropic's Messages API, and the chat completions of Gemini's OpenAI-compatible endpoint. Each records the
 * exact request and answers what the test scripts: text, a tool call, a refusal, a status (429, 5xx, 400) or
 * nothing at all (a stall, for timeouts).
 */

export interface PeerRequest {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  // biome-ignore lint/suspicious/noExplicitAny: a provider's JSON body, read by the assertions.
  readonly body: any
}

export interface Usage {
  readonly input: number
  readonly output: number
}

export type PeerReply =
  | {
      readonly text: string
      readonly usage?: Usage
      /**
       * When streaming: the text's first half is sent, then nothing more until this resolves, so a test can
       * see the text arrive as it is written.
       */
      readonly pause?: Promise<void>
    }
  | {
      readonly toolCall: {
        readonly id: string
        readonly name: string
        readonly args: Record<string, unknown>
      }
      readonly usage?: Usage
    }
  | { readonly status: number; readonly message?: string; readonly headers?: Record<string, string> }
  | "refusal"
  | "stall"

export type PeerKind = "openai" | "anthropic" | "gemini"

export interface AiPeer {
  readonly kind: PeerKind
  /** The base URL to configure (OPENAI_API_URL, ANTHROPIC_API_URL, GEMINI_API_URL). */
  readonly baseUrl: string
  readonly requests: Array<PeerRequest>
  /** Replies for the next requests, in order; when none is queued, a short text answers. */
  readonly script: (...replies: ReadonlyArray<PeerReply>) => void
  /**
   * A model for when nothing is scripted: it answers from the request (calls a tool, then writes from the
   * results it was sent back). Null: a short text, as before. `reset` removes it.
   */
  readonly answerWith: (model: ((request: PeerRequest) => PeerReply) | null) => void
  readonly reset: () => void
  readonly close: () => Promise<void>
}

const DEFAULT_USAGE: Usage = { input: 11, output: 7 }
const CREATED = 1_765_000_000

interface Rendered {
  readonly status: number
  readonly headers: Record<string, string>
  /** A JSON body, or SSE events as [event name | null, data]. */
  readonly json?: unknown
  readonly events?: ReadonlyArray<readonly [string | null, string]>
}

const halves = (text: string) => {
  const middle = Math.ceil(text.length / 2)
  return [text.slice(0, middle), text.slice(middle)].filter((piece) => piece.length > 0)
}

// --- OpenAI Responses API -----------------------------------------------------------------------------

const openAiUsage = (usage: Usage) => ({
  input_tokens: usage.input,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: usage.output,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: usage.input + usage.output
})

const openAiResponse = (
  model: string,
  output: Array<unknown>,
  usage: Usage | null,
  status = "completed"
) => ({
  id: "resp_0001",
  object: "response",
  created_at: CREATED,
  status,
  error: null,
  incomplete_details: null,
  instructions: null,
  model,
  output,
  parallel_tool_calls: true,
  tools: [],
  tool_choice: "auto",
  metadata: {},
  temperature: 1,
  top_p: 1,
  usage: usage === null ? null : openAiUsage(usage)
})

const openAiMessage = (content: Array<unknown>, status = "completed") => ({
  type: "message",
  id: "msg_0001",
  status,
  role: "assistant",
  content
})

const renderOpenAi = (reply: Exclude<PeerReply, "stall">, model: string, stream: boolean): Rendered => {
  if (typeof reply === "object" && "status" in reply) {
    return {
      status: reply.status,
      headers: { "content-type": "application/json", ...reply.headers },
      json: {
        error: { message: reply.message ?? "error", type: "invalid_request_error", param: null, code: null }
      }
    }
  }
  const usage = (typeof reply === "object" && reply.usage) || DEFAULT_USAGE
  const item =
    reply === "refusal"
      ? openAiMessage([{ type: "refusal", refusal: "I can't help with that." }])
      : "text" in reply
        ? openAiMessage([{ type: "output_text", text: reply.text, annotations: [] }])
        : {
            type: "function_call",
            id: "fc_0001",
            call_id: reply.toolCall.id,
            name: reply.toolCall.name,
            arguments: JSON.stringify(reply.toolCall.args),
            status: "completed"
          }
  const completed = openAiResponse(model, [item], usage)
  if (!stream) return { status: 200, headers: { "content-type": "application/json" }, json: completed }
  let sequence = 0
  const event = (type: string, data: Record<string, unknown>) =>
    [type, JSON.stringify({ type, sequence_number: sequence++, ...data })] as const
  const events: Array<readonly [string, string]> = [
    event("response.created", { response: openAiResponse(model, [], null, "in_progress") })
  ]
  if (typeof reply === "object" && "toolCall" in reply) {
    events.push(
      event("response.output_item.added", {
        output_index: 0,
        item: { ...(item as object), arguments: "", status: "in_progress" }
      }),
      event("response.function_call_arguments.delta", {
        output_index: 0,
        item_id: "fc_0001",
        delta: JSON.stringify(reply.toolCall.args)
      }),
      event("response.output_item.done", { output_index: 0, item })
    )
  } else {
    events.push(
      event("response.output_item.added", { output_index: 0, item: openAiMessage([], "in_progress") })
    )
    if (typeof reply === "object" && "text" in reply) {
      for (const delta of halves(reply.text)) {
        events.push(
          event("response.output_text.delta", {
            output_index: 0,
            content_index: 0,
            item_id: "msg_0001",
            delta
          })
        )
      }
    }
    events.push(event("response.output_item.done", { output_index: 0, item }))
  }
  events.push(event("response.completed", { response: completed }))
  return { status: 200, headers: { "content-type": "text/event-stream" }, events }
}

// --- Anthropic Messages API ---------------------------------------------------------------------------

const renderAnthropic = (reply: Exclude<PeerReply, "stall">, model: string, stream: boolean): Rendered => {
  if (typeof reply === "object" && "status" in reply) {
    const type =
      reply.status === 429
        ? "rate_limit_error"
        : reply.status === 529
          ? "overloaded_error"
          : reply.status >= 500
            ? "api_error"
            : "invalid_request_error"
    return {
      status: reply.status,
      headers: { "content-type": "application/json", ...reply.headers },
      json: { type: "error", error: { type, message: reply.message ?? "error" } }
    }
  }
  const usage = (typeof reply === "object" && reply.usage) || DEFAULT_USAGE
  const content =
    reply === "refusal"
      ? []
      : "text" in reply
        ? [{ type: "text", text: reply.text }]
        : [{ type: "tool_use", id: reply.toolCall.id, name: reply.toolCall.name, input: reply.toolCall.args }]
  const stopReason = reply === "refusal" ? "refusal" : "text" in reply ? "end_turn" : "tool_use"
  const message = (body: Array<unknown>, stop: string | null, output: number) => ({
    id: "msg_01XFDUDYJgAACzvnptvVoYEL",
    type: "message",
    role: "assistant",
    model,
    content: body,
    stop_reason: stop,
    stop_sequence: null,
    usage: { input_tokens: usage.input, output_tokens: output }
  })
  if (!stream) {
    return {
      status: 200,
      headers: { "content-type": "application/json" },
      json: message(content, stopReason, usage.output)
    }
  }
  const event = (type: string, data: Record<string, unknown>) =>
    [type, JSON.stringify({ type, ...data })] as const
  const events: Array<readonly [string, string]> = [event("message_start", { message: message([], null, 1) })]
  if (typeof reply === "object" && "text" in reply) {
    events.push(event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }))
    for (const text of halves(reply.text)) {
      events.push(event("content_block_delta", { index: 0, delta: { type: "text_delta", text } }))
    }
    events.push(event("content_block_stop", { index: 0 }))
  } else if (typeof reply === "object" && "toolCall" in reply) {
    events.push(
      event("content_block_start", {
        index: 0,
        content_block: { type: "tool_use", id: reply.toolCall.id, name: reply.toolCall.name, input: {} }
      }),
      event("content_block_delta", {
        index: 0,
        delta: { type: "input_json_delta", partial_json: JSON.stringify(reply.toolCall.args) }
      }),
      event("content_block_stop", { index: 0 })
    )
  }
  events.push(
    event("message_delta", {
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output }
    }),
    event("message_stop", {})
  )
  return { status: 200, headers: { "content-type": "text/event-stream" }, events }
}

// --- Gemini's OpenAI-compatible chat completions ------------------------------------------------------

const renderGemini = (reply: Exclude<PeerReply, "stall">, model: string, stream: boolean): Rendered => {
  if (typeof reply === "object" && "status" in reply) {
    const status =
      reply.status === 429 ? "RESOURCE_EXHAUSTED" : reply.status >= 500 ? "UNAVAILABLE" : "INVALID_ARGUMENT"
    return {
      status: reply.status,
      headers: { "content-type": "application/json", ...reply.headers },
      json: [{ error: { code: reply.status, message: reply.message ?? "error", status } }]
    }
  }
  const usage = (typeof reply === "object" && reply.usage) || DEFAULT_USAGE
  const usageBody = {
    prompt_tokens: usage.input,
    completion_tokens: usage.output,
    total_tokens: usage.input + usage.output
  }
  const toolCalls =
    typeof reply === "object" && "toolCall" in reply
      ? [
          {
            id: reply.toolCall.id,
            type: "function",
            function: { name: reply.toolCall.name, arguments: JSON.stringify(reply.toolCall.args) }
          }
        ]
      : undefined
  const finish = reply === "refusal" ? "content_filter" : toolCalls ? "tool_calls" : "stop"
  const text = typeof reply === "object" && "text" in reply ? reply.text : null
  if (!stream) {
    return {
      status: 200,
      headers: { "content-type": "application/json" },
      json: {
        id: "chatcmpl-0001",
        object: "chat.completion",
        created: CREATED,
        model,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: text, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
            finish_reason: finish
          }
        ],
        usage: usageBody
      }
    }
  }
  const chunk = (choices: Array<unknown>, extra: Record<string, unknown> = {}) =>
    [
      null,
      JSON.stringify({
        id: "chatcmpl-0001",
        object: "chat.completion.chunk",
        created: CREATED,
        model,
        choices,
        ...extra
      })
    ] as const
  const events: Array<readonly [string | null, string]> = []
  if (text !== null) {
    for (const piece of halves(text)) {
      events.push(chunk([{ index: 0, delta: { role: "assistant", content: piece }, finish_reason: null }]))
    }
  }
  if (toolCalls) {
    events.push(
      chunk([
        {
          index: 0,
          delta: { role: "assistant", tool_calls: toolCalls.map((call, index) => ({ index, ...call })) },
          finish_reason: null
        }
      ])
    )
  }
  events.push(chunk([{ index: 0, delta: {}, finish_reason: finish }]))
  events.push(chunk([], { usage: usageBody }))
  events.push([null, "[DONE]"])
  return { status: 200, headers: { "content-type": "text/event-stream" }, events }
}

const renderers = { openai: renderOpenAi, anthropic: renderAnthropic, gemini: renderGemini } as const

/** The path each provider's base URL carries, so the configured URL looks like the real one. */
const basePath = { openai: "/v1", anthropic: "", gemini: "/v1beta/openai/" } as const

export const startAiPeer = async (kind: PeerKind): Promise<AiPeer> => {
  const requests: Array<PeerRequest> = []
  const queued: Array<PeerReply> = []
  let model: ((request: PeerRequest) => PeerReply) | null = null
  const stalled = new Set<Http.ServerResponse>()
  const server = Http.createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8")
      let body: unknown = raw
      try {
        body = JSON.parse(raw)
      } catch {}
      const received = {
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body
      }
      requests.push(received)
      const reply = queued.shift() ?? (model === null ? { text: "ok" } : model(received))
      if (reply === "stall") {
        stalled.add(response)
        return
      }
      const modelName =
        typeof body === "object" && body !== null ? String((body as { model?: unknown }).model) : ""
      const stream =
        typeof body === "object" && body !== null && (body as { stream?: unknown }).stream === true
      const rendered = renderers[kind](reply, modelName, stream)
      response.writeHead(rendered.status, rendered.headers)
      if (rendered.events) {
        const events = rendered.events
        const write = (from: number, to: number) => {
          for (const [name, data] of events.slice(from, to)) {
            response.write(`${name === null ? "" : `event: ${name}\n`}data: ${data}\n\n`)
          }
        }
        // The event that carries the first half (each format puts it in its first text delta).
        const held =
          typeof reply === "object" && "text" in reply && reply.pause !== undefined
            ? events.findIndex(([, data]) =>
                data.includes(JSON.stringify(halves(reply.text)[0] ?? "").slice(1, -1))
              )
            : -1
        if (held < 0) {
          write(0, events.length)
          response.end()
        } else {
          write(0, held + 1)
          const pause = (reply as { readonly pause: Promise<void> }).pause
          void pause.then(() => {
            write(held + 1, events.length)
            response.end()
          })
        }
      } else {
        response.end(JSON.stringify(rendered.json))
      }
    })
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  return {
    kind,
    baseUrl: `http://127.0.0.1:${port}${basePath[kind]}`,
    requests,
    script: (...replies) => void queued.push(...replies),
    answerWith: (next) => {
      model = next
    },
    reset: () => {
      requests.length = 0
      queued.length = 0
      model = null
    },
    close: () =>
      new Promise((resolve) => {
        for (const response of stalled) response.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** A tool's result as a request sends it back: JSON text, or text blocks holding JSON. */
const parseOutput = (output: unknown): unknown => {
  const text = Array.isArray(output)
    ? output.map((block) => (block as { text?: string }).text ?? "").join("")
    : output
  if (typeof text !== "string") return text
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * The tool results a request carries, in its provider's format: OpenAI's `function_call_output` input items,
 * Anthropic's `tool_result` content blocks, the chat completions' `tool` messages (Gemini).
 */
export const toolResultsIn = (
  kind: PeerKind,
  // biome-ignore lint/suspicious/noExplicitAny: a provider's JSON body.
  body: any
): Array<{ readonly id: string; readonly output: unknown }> => {
  if (kind === "openai") {
    return (body.input ?? [])
      .filter((item: { type?: string }) => item.type === "function_call_output")
      .map((item: { call_id: string; output: unknown }) => ({
        id: item.call_id,
        output: parseOutput(item.output)
      }))
  }
  if (kind === "anthropic") {
    return (body.messages ?? []).flatMap((message: { content: unknown }) =>
      Array.isArray(message.content)
        ? message.content
            .filter((block: { type?: string }) => block.type === "tool_result")
            .map((block: { tool_use_id: string; content: unknown }) => ({
              id: block.tool_use_id,
              output: parseOutput(block.content)
            }))
        : []
    )
  }
  return (body.messages ?? [])
    .filter((message: { role?: string }) => message.role === "tool")
    .map((message: { tool_call_id: string; content: unknown }) => ({
      id: message.tool_call_id,
      output: parseOutput(message.content)
    }))
}
