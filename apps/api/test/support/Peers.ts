import * as Http from "node:http"
import { redisUrl, runId } from "@tapline/testing/env"
import { createDatabase as createTestDatabase } from "@tapline/testing/postgres"
import { startRedisServer } from "@tapline/testing/redisServer"
import { Redis as RedisClient } from "ioredis"

export { redisUrl }

/** An empty database for one test; `drop` removes it. */
export const createDatabase = () => createTestDatabase("api")

export const uniquePrefix = (name: string) =>
  `tapline-test:${runId}:${process.pid}:${name}:${Math.random().toString(36).slice(2, 8)}:`

export const deletePrefix = async (prefix: string) => {
  const client = new RedisClient(redisUrl)
  for await (const keys of client.scanStream({ match: `${prefix}*`, count: 500 })) {
    if (keys.length > 0) await client.del(...keys)
  }
  await client.quit()
}

/** A private redis-server the test may kill and start again on the same port. */
export const startPrivateRedis = () => startRedisServer()

export interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind?: number
  readonly attributes?: ReadonlyArray<{ key: string; value: Record<string, unknown> }>
  readonly links?: ReadonlyArray<{
    traceId: string
    spanId: string
    attributes?: ReadonlyArray<{ key: string; value: Record<string, unknown> }>
  }>
}

/** The string value of a span's (or resource's) attribute. */
export const attributeOf = (
  attributes: ReadonlyArray<{ key: string; value: Record<string, unknown> }> | undefined,
  key: string
) => attributes?.find((attribute) => attribute.key === key)?.value.stringValue

/** A loopback OTLP/HTTP JSON receiver: what an OpenTelemetry collector would be sent. */
export const startOtlpReceiver = async () => {
  const spans: Array<OtlpSpan> = []
  const paths: Array<string> = []
  const headers: Array<Http.IncomingHttpHeaders> = []
  const resources: Array<ReadonlyArray<{ key: string; value: Record<string, unknown> }>> = []
  const server = Http.createServer((request, response) => {
    let body = ""
    request.on("data", (chunk) => {
      body += chunk
    })
    request.on("end", () => {
      paths.push(request.url ?? "")
      headers.push(request.headers)
      if (request.url === "/v1/traces" && request.headers["content-type"] === "application/json") {
        const payload = JSON.parse(body) as {
          resourceSpans: Array<{
            resource: { attributes: ReadonlyArray<{ key: string; value: Record<string, unknown> }> }
            scopeSpans: Array<{ spans: Array<OtlpSpan> }>
          }>
        }
        for (const resource of payload.resourceSpans) {
          resources.push(resource.resource.attributes)
          for (const scope of resource.scopeSpans) spans.push(...scope.spans)
        }
      }
      response.writeHead(200, { "content-type": "application/json" })
      response.end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as { port: number }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    paths,
    /** The headers of every export request, in order. */
    headers,
    /** The resource attributes of every batch of spans. */
    resources,
    /** Resolves once a span satisfying `predicate` has arrived (polled: exports come every second). */
    waitFor: async (predicate: (span: OtlpSpan) => boolean, what: string, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = spans.find(predicate)
        if (found !== undefined) return found
        if (Date.now() > deadline) throw new Error(`no ${what} among ${spans.length} spans received`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
