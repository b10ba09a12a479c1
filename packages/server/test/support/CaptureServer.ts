import * as Http from "node:http"
import type { AddressInfo } from "node:net"

export interface CapturedRequest {
  readonly method: string
  /** Path and query, as sent. */
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/** What the peer answers one request: a status with headers and body, or nothing at all (a stalled peer). */
export type Reply =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  | "stall"

export interface CaptureServer {
  readonly url: string
  readonly requests: Array<CapturedRequest>
  /** Replies for the next requests, in order; when none is queued, `fallback` answers. */
  readonly reply: (...replies: ReadonlyArray<Reply>) => void
  fallback: (request: CapturedRequest) => Reply
  /** Resolves with the `count`-th request (1-based) once it has arrived. */
  readonly nth: (count: number) => Promise<CapturedRequest>
  readonly close: () => Promise<void>
}

/**
 * A loopback HTTP peer standing in for a hosted API (an email provider, a chat service, a webhook receiver):
 * it records every request exactly as it arrived, so a test asserts what the provider documents, and
 * answers what the test scripts, including nothing (a stall), to exercise timeouts.
 */
export const startCaptureServer = async (): Promise<CaptureServer> => {
  const requests: Array<CapturedRequest> = []
  const queued: Array<Reply> = []
  const waiters: Array<{ count: number; resolve: (request: CapturedRequest) => void }> = []
  const stalled = new Set<Http.ServerResponse>()
  const capture: CaptureServer = {
    url: "",
    requests,
    reply: (...replies) => void queued.push(...replies),
    fallback: () => ({ status: 200, headers: { "content-type": "application/json" }, body: "{}" }),
    nth: (count) =>
      requests.length >= count
        ? Promise.resolve(requests[count - 1]!)
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () =>
      new Promise((resolve) => {
        for (const response of stalled) response.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
  const server = Http.createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const captured: CapturedRequest = {
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8")
      }
      requests.push(captured)
      for (const waiter of waiters.filter((w) => w.count <= requests.length)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(requests[waiter.count - 1]!)
      }
      const reply = queued.shift() ?? capture.fallback(captured)
      if (reply === "stall") {
        stalled.add(response)
        return
      }
      response.writeHead(reply.status, reply.headers ?? {})
      response.end(reply.body ?? "")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(capture, { url: `http://127.0.0.1:${port}` })
}
