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
  readonly attributes?: ReadonlyArray<{ key: string; value: Record<string, unknown> }>
}

/** A loopback OTLP/HTTP JSON receiver: what an OpenTelemetry collector would be sent. */
export const startOtlpReceiver = async () => {
  const spans: Array<OtlpSpan> = []
  const paths: Array<string> = []
  const server = Http.createServer((request, response) => {
    let body = ""
    request.on("data", (chunk) => {
      body += chunk
    })
    request.on("end", () => {
      paths.push(request.url ?? "")
      if (request.url === "/v1/traces") {
        const payload = JSON.parse(body) as {
          resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<OtlpSpan> }> }>
        }
        for (const resource of payload.resourceSpans)
          for (const scope of resource.scopeSpans) spans.push(...scope.spans)
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
