import * as Net from "node:net"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Schemas from "../src/Streams/Schemas.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"

/*
 * GET /api/v1/schemas/{type}.json on the whole API server: every type's JSON Schema, public and cacheable,
 * the one each CloudEvent's `dataschema` names; a type without one is a typed 404; a hostile path (traversal,
 * NUL, a megabyte) is refused by the server or answered 404, never a 5xx.
 */

const PUBLIC_URL = "https://api.tapline.example"

/** One request written byte for byte on a socket (no client normalises `..` or refuses NUL): its status. */
const rawGet = (port: number, path: string | Buffer) =>
  Effect.promise(
    () =>
      new Promise<{ status: number | undefined; head: string }>((resolve) => {
        const socket = Net.connect(port, "127.0.0.1")
        const chunks: Array<Buffer> = []
        const done = () => {
          const text = Buffer.concat(chunks).toString("latin1")
          const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]
          resolve({ status: status === undefined ? undefined : Number(status), head: text.slice(0, 400) })
        }
        socket.on("data", (chunk) => chunks.push(chunk))
        // The server may answer and close while a megabyte is still being written: that is its answer.
        socket.on("error", done)
        socket.on("close", done)
        socket.write(
          Buffer.concat([
            Buffer.from("GET "),
            Buffer.isBuffer(path) ? path : Buffer.from(path, "latin1"),
            Buffer.from(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
          ])
        )
      })
  )

layer(adminHarness({ PUBLIC_URL }), { excludeTestServices: true, timeout: 120_000 })(
  "schemas route",
  (it) => {
    it.effect("serves each type's JSON Schema, public, cacheable, as application/schema+json", () =>
      Effect.gen(function* () {
        const { url } = yield* AdminServer
        expect(Schemas.types.length).toBe(10)
        for (const type of Schemas.types) {
          const response = yield* Effect.promise(() => fetch(`${url}/api/v1/schemas/${type}.json`))
          expect(response.status, type).toBe(200)
          expect(response.headers.get("content-type")).toMatch(/^application\/schema\+json/)
          expect(response.headers.get("cache-control")).toBe("public, max-age=3600")
          const body = (yield* Effect.promise(() => response.json())) as Record<string, unknown>
          expect(body).toEqual(Schemas.jsonSchema(new URL(PUBLIC_URL), type))
          expect(body.$id).toBe(`${PUBLIC_URL}/api/v1/schemas/${type}.json`)
          expect(body.$schema).toBe("http://json-schema.org/draft-07/schema#")
        }
      })
    )

    it.effect("an unknown type is a typed 404, never cached", () =>
      Effect.gen(function* () {
        const { url } = yield* AdminServer
        for (const file of [
          "tap.deleted.json",
          "tap.created",
          "tap.created.json.json",
          "%00.json",
          `${"x".repeat(95)}.json`
        ]) {
          const response = yield* Effect.promise(() => fetch(`${url}/api/v1/schemas/${file}`))
          expect(response.status, file.slice(0, 40)).toBe(404)
          expect(response.headers.get("content-type"), file.slice(0, 40)).toMatch(/^application\/json/)
          expect(response.headers.get("cache-control")).toBe("no-store")
          const body = (yield* Effect.promise(() => response.json())) as Record<string, unknown>
          expect(body).toMatchObject({ _tag: "NotFound", resource: "schema" })
          expect(String(body.id).length).toBeLessThanOrEqual(100)
          // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
          expect(String(body.id)).not.toMatch(/[\u0000-\u001f]/)
        }
        // A file name over 100 characters never reaches the route (the router's parameter limit): the bare
        // 404 of any unknown path.
        const long = yield* Effect.promise(() => fetch(`${url}/api/v1/schemas/${"x".repeat(5000)}.json`))
        expect(long.status).toBe(404)
      })
    )

    it.effect("hostile paths are answered below 500: traversal, NUL, control bytes, a megabyte", () =>
      Effect.gen(function* () {
        const { port } = yield* AdminServer
        const paths: Array<string | Buffer> = [
          "/api/v1/schemas/../../../etc/passwd",
          "/api/v1/schemas/..%2F..%2F..%2Fetc%2Fpasswd",
          "/api/v1/schemas/%2e%2e/%2e%2e/package.json",
          "/api/v1/schemas/../schemas/tap.created.json",
          "/api/v1/schemas/tap.created.json%00",
          "/api/v1/schemas/%00",
          "/api/v1/schemas/%ff%fe.json",
          "/api/v1/schemas/%",
          Buffer.from("/api/v1/schemas/tap\u0000.json", "latin1"),
          Buffer.from("/api/v1/schemas/\u00e9\u00ff.json", "latin1"),
          `/api/v1/schemas/${"a".repeat(1024 * 1024)}.json`,
          `/api/v1/schemas/${"%41".repeat(350_000)}.json`
        ]
        for (const path of paths) {
          const { status, head } = yield* rawGet(port, path)
          const shown = path.toString("latin1").slice(0, 60)
          // No answer at all would hide a crash: each gets a status, and none is a server error.
          expect(status, `${shown}: ${head}`).toBeDefined()
          expect(status!, `${shown}: ${head}`).toBeLessThan(500)
          expect(status, shown).not.toBe(200)
        }
        const served = yield* rawGet(port, "/api/v1/schemas/tap.created.json")
        expect(served.status).toBe(200)
      })
    )

    it.effect("the OpenAPI document lists the route", () =>
      Effect.gen(function* () {
        const { url } = yield* AdminServer
        const document = yield* Effect.promise(() =>
          fetch(`${url}/api/v1/openapi.json`).then((r) => r.json())
        )
        expect(Object.keys((document as { paths: object }).paths)).toContain("/api/v1/schemas/{file}")
      })
    )
  }
)
