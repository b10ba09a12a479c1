import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { jsonDepth, MAX_JSON_DEPTH } from "../src/Http/BodyGuard.js"
import { bootstrapKey, call, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Issue 12, item 7: bodies that made the API answer 500, some of them without credentials. Each must be a
 * 400 or 415 with the usual `{ _tag, message }` body.
 */

const deepArrays = `${"[".repeat(3_000)}${"]".repeat(3_000)}`
const deepObjects = `${'{"a":'.repeat(3_000)}1${"}".repeat(3_000)}`
const multipart = '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n'

const PUBLIC_ENDPOINTS = [
  "/api/v1/auth/refresh",
  "/api/v1/auth/second-factor",
  "/api/v1/auth/passkey",
  "/api/v1/auth/passkey/options"
]

layer(adminHarness(), { excludeTestServices: true, timeout: 120_000 })("malformed bodies", (it) => {
  it.effect("multipart and deeply nested JSON are refused with 415 / 400, with and without credentials", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey("malformed-bodies@example.com")
      const targets = [
        ...PUBLIC_ENDPOINTS.map((path) => ({ path, key: undefined })),
        { path: "/api/v1/organizations", key: admin }
      ]
      for (const { path, key } of targets) {
        for (const contentType of ["multipart/form-data", "multipart/form-data; boundary=x"]) {
          const reply = yield* call("POST", path, { key, text: multipart, contentType })
          expect(reply.status, `${path} ${contentType}`).toBe(415)
          expect(reply.body._tag).toBe("UnsupportedMediaType")
        }
        for (const text of [deepArrays, deepObjects]) {
          const reply = yield* call("POST", path, { key, text, contentType: "application/json" })
          expect(reply.status, `${path} deep JSON`).toBe(400)
          expect(reply.body).toEqual({
            _tag: "InvalidRequest",
            message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted`
          })
        }
      }
      // Ordinary nesting still goes through to the endpoint.
      const created = yield* call("POST", "/api/v1/organizations", {
        key: admin,
        body: { slug: `nested-${process.pid}`, name: "Nested", branding: { primaryColor: "#112233" } }
      })
      expect(created.status).toBe(201)
    })
  )

  it.effect("broken JSON is a 400 that says so, with and without credentials", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey("broken-json@example.com")
      // (passkey/options takes no body: it ignores one.)
      const targets = [
        ...PUBLIC_ENDPOINTS.filter((path) => !path.endsWith("/options")).map((path) => ({
          path,
          key: undefined
        })),
        { path: "/api/v1/organizations", key: admin }
      ]
      for (const { path, key } of targets) {
        for (const text of ["{", '{"name": ', "nul", "\u0000", '{"a": 1}}', "\uFEFF{"]) {
          const reply = yield* call("POST", path, { key, text, contentType: "application/json" })
          expect([reply.status, reply.body], `${path} ${JSON.stringify(text)}`).toEqual([
            400,
            { _tag: "InvalidRequest", message: "the request body is not valid JSON" }
          ])
        }
      }
    })
  )

  it.effect(
    "a refused value is not echoed whole in the 400 (a 900 kB name, a secret in the wrong field)",
    () =>
      Effect.gen(function* () {
        const admin = yield* bootstrapKey("decode-echo@example.com")
        const name = "N".repeat(900_000) // under HTTP_MAX_BODY, so it reaches the decoder
        const reply = yield* call("POST", "/api/v1/organizations", {
          key: admin,
          body: { slug: `echo-${process.pid}`, name }
        })
        expect(reply.status).toBe(400)
        expect(reply.body._tag).toBe("HttpApiDecodeError")
        expect(reply.text.length).toBeLessThan(5_000)
        expect(String(reply.body.message)).toContain("characters)")
        const secret = `tlk_${"s".repeat(400)}`
        const wrongField = yield* call("POST", "/api/v1/organizations", {
          key: admin,
          body: { slug: secret, name: "Echo" }
        })
        expect(wrongField.status).toBe(400)
        expect(wrongField.text).not.toContain(secret)
      })
  )

  it.effect("linking an account at a provider whose discovery fails is 503, not 500", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey("link-unreachable@example.com")
      yield* ok(
        yield* call("POST", "/api/v1/admin/oauth-providers", {
          key: admin,
          body: {
            id: "unreachable",
            kind: "oidc",
            displayName: "Nobody home",
            clientId: "tapline",
            clientSecret: "s3cret",
            // Port 9 (discard) refuses on loopback.
            issuer: "http://127.0.0.1:9"
          }
        }),
        201
      )
      const reply = yield* call("POST", "/api/v1/me/identities/unreachable", { key: admin })
      expect(reply.status).toBe(503)
      expect(reply.body).toEqual({ _tag: "ServiceUnavailable", checks: { provider: "failing" } })
      expect(reply.text).not.toContain("s3cret")
    })
  )

  it.effect("the depth scan skips brackets inside strings", () =>
    Effect.sync(() => {
      expect(jsonDepth('{"a":[1,{"b":"[[[[{{{{"}]}')).toBe(3)
      expect(jsonDepth('"\\"[[["')).toBe(0)
      expect(jsonDepth(deepArrays)).toBe(3_000)
    })
  )
})
