import { csrfToken, REFUSED_VALUE } from "../api.js"

/** One server-sent event: its name (`message` when the frame names none) and its data lines joined. */
export interface SseMessage {
  readonly event: string
  readonly data: string
}

const parseFrame = (frame: string): SseMessage | null => {
  let event = "message"
  const data: Array<string> = []
  for (const line of frame.split("\n")) {
    // A line starting with a colon is a comment (a keep-alive).
    if (line === "" || line.startsWith(":")) continue
    const colon = line.indexOf(":")
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "")
    if (field === "event") event = value
    else if (field === "data") data.push(value)
  }
  return data.length === 0 ? null : { event, data: data.join("\n") }
}

/**
 * The messages of a `text/event-stream` body as they arrive. A chunk may end inside a frame: what follows its
 * last blank line waits for the next chunk.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader()
  // `stream: true` keeps a character cut between two chunks for the next one.
  const decoder = new TextDecoder()
  let buffer = ""
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n/g, "\n")
      let end = buffer.indexOf("\n\n")
      while (end >= 0) {
        const message = parseFrame(buffer.slice(0, end))
        buffer = buffer.slice(end + 2)
        if (message !== null) yield message
        end = buffer.indexOf("\n\n")
      }
    }
    const last = parseFrame(buffer)
    if (last !== null) yield last
  } finally {
    reader.releaseLock()
  }
}

/** A refusal the API sent instead of a stream, in words (its message, or its kind). */
export class StreamRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly tag: string | null
  ) {
    super(message)
  }
}

/**
 * POSTs `payload` as JSON and reads the answer as server-sent events (EventSource cannot POST). A refusal before
 * the stream (a 4xx with the API's tagged error) rejects with `StreamRefused`, in the words `describe` would use.
 */
export const postEventStream = async (
  url: string,
  payload: unknown,
  signal: AbortSignal
): Promise<AsyncGenerator<SseMessage>> => {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "text/event-stream",
      "x-csrf-token": csrfToken()
    },
    body: JSON.stringify(payload),
    credentials: "same-origin",
    signal
  })
  const type = response.headers.get("content-type") ?? ""
  if (!response.ok || response.body === null || !type.startsWith("text/event-stream")) {
    const body = (await response.json().catch(() => null)) as { _tag?: unknown; message?: unknown } | null
    const tag = typeof body?._tag === "string" ? body._tag : null
    const message =
      tag === "HttpApiDecodeError"
        ? REFUSED_VALUE
        : typeof body?.message === "string" && body.message !== ""
          ? body.message
          : (tag ?? `The server answered ${response.status}.`)
    throw new StreamRefused(message, response.status, tag)
  }
  return readEvents(response.body)
}
