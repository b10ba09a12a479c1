import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { Redis as RedisClient } from "ioredis"
import Pg from "pg"
import { freePort } from "./ServerProcess.js"

export const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
export const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"
const runId = process.env.TAPLINE_TEST_RUN ?? `${process.pid}`

const admin = async <A>(f: (client: Pg.Client) => Promise<A>) => {
  const client = new Pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/** An empty database for one test, and its removal. */
export const createDatabase = async () => {
  const name = `tapline_api_${runId}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  await admin((client) => client.query(`create database "${name}"`))
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    query: async <R>(text: string) => {
      const client = new Pg.Client({ connectionString: url.toString() })
      await client.connect()
      try {
        return (await client.query(text)).rows as Array<R>
      } finally {
        await client.end()
      }
    },
    drop: () => admin((client) => client.query(`drop database if exists "${name}" with (force)`))
  }
}

export const uniquePrefix = (name: string) =>
  `tapline-test:${runId}:${process.pid}:${name}:${Math.random().toString(36).slice(2, 8)}:`

export const deletePrefix = async (prefix: string) => {
  const client = new RedisClient(redisUrl)
  for await (const keys of client.scanStream({ match: `${prefix}*`, count: 500 })) {
    if (keys.length > 0) await client.del(...keys)
  }
  await client.quit()
}

const waitForRedis = async (port: number) => {
  const deadline = Date.now() + 10_000
  for (;;) {
    const client = new RedisClient({
      port,
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0
    })
    client.on("error", () => {})
    try {
      await client.connect()
      await client.ping()
      return
    } catch {
      if (Date.now() > deadline) throw new Error("private redis did not start")
      await new Promise((r) => setTimeout(r, 100))
    } finally {
      client.disconnect()
    }
  }
}

/** A private redis-server the test may kill and start again on the same port. */
export const startPrivateRedis = async () => {
  const port = await freePort()
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-redis-"))
  const launch = () =>
    spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir], {
      stdio: "ignore"
    })
  let child = launch()
  await waitForRedis(port)
  const kill = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once("exit", () => resolve())
      child.kill("SIGKILL")
    })
  return {
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: async () => {
      await kill()
      child = launch()
      await waitForRedis(port)
    },
    dispose: () => kill().then(() => Fs.rmSync(dir, { recursive: true, force: true }))
  }
}

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
