import { createHash, randomBytes, randomUUID } from "node:crypto"
import { describe, expect, it, layer } from "@effect/vitest"
import { Chunk, Context, Effect, Layer, Option, Redacted, Schema, Stream } from "effect"
import * as S3Storage from "../src/Storage/S3Storage.js"
import { ObjectKey, organizationKey, Storage } from "../src/Storage/Storage.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"
import { BUCKET, type S3Peer, startS3rver } from "./support/S3rver.js"

class S3Server extends Context.Tag("test/S3Server")<S3Server, S3Peer>() {}

const S3ServerLive = Layer.scoped(
  S3Server,
  Effect.acquireRelease(Effect.promise(startS3rver), (peer) => Effect.promise(peer.close))
)

const s3Options = (endpoint: string, secret = "S3RVER"): S3Storage.S3StorageOptions => ({
  bucket: BUCKET,
  region: "us-east-1",
  endpoint: Option.some(endpoint),
  forcePathStyle: true,
  credentials: Option.some({ accessKeyId: "S3RVER", secretAccessKey: Redacted.make(secret) }),
  maxAttempts: 2,
  multipartThresholdBytes: 5 * 1024 * 1024
})

const S3Endpoint = Layer.scoped(
  Storage,
  Effect.flatMap(S3Server, ({ endpoint }) => S3Storage.make(s3Options(endpoint)))
).pipe(Layer.provideMerge(S3ServerLive))

const bytes = (text: string) => new TextEncoder().encode(text)

const collect = <E>(stream: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

/** `size` random bytes in 64 KiB chunks, and their SHA-256. */
const randomBody = (size: number) => {
  const data = randomBytes(size)
  const chunks: Array<Uint8Array> = []
  for (let at = 0; at < size; at += 65_536) chunks.push(data.subarray(at, Math.min(size, at + 65_536)))
  return { stream: Stream.fromIterable(chunks), sha256: createHash("sha256").update(data).digest("hex") }
}

/** The same behaviour is required of every provider; each `describe` below runs it on one. */
const contract = (provider: string, storage: Layer.Layer<Storage, unknown>) =>
  describe(`Storage contract: ${provider}`, () => {
    layer(storage, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("stores, reads, describes and removes an object; a missing one is not found", () =>
        Effect.gen(function* () {
          const storage = yield* Storage
          const key = organizationKey(randomUUID(), "exports", "report.csv")
          expect(yield* storage.head(key)).toEqual(Option.none())
          const stored = yield* storage.put(key, Stream.make(bytes("a,b\n"), bytes("1,2\n")), {
            contentType: "text/csv; charset=utf-8"
          })
          expect(stored).toEqual({ key, size: 8, contentType: "text/csv; charset=utf-8" })
          expect(yield* storage.head(key)).toEqual(Option.some(stored))
          const object = yield* storage.get(key)
          expect(object.contentType).toBe("text/csv; charset=utf-8")
          expect((yield* collect(object.stream)).toString()).toBe("a,b\n1,2\n")

          yield* storage.put(key, Stream.make(bytes("replaced")), { contentType: "text/plain" })
          expect((yield* collect((yield* storage.get(key)).stream)).toString()).toBe("replaced")

          yield* storage.remove(key)
          yield* storage.remove(key)
          expect(yield* storage.head(key)).toEqual(Option.none())
          const missing = yield* Effect.flip(storage.get(key))
          expect(missing._tag).toBe("ObjectNotFound")
        })
      )

      it.effect("streams a body larger than a multipart part and reads back the same bytes", () =>
        Effect.gen(function* () {
          const storage = yield* Storage
          const key = organizationKey(randomUUID(), "imports", "large.bin")
          const size = 11 * 1024 * 1024 + 123
          const body = randomBody(size)
          const stored = yield* storage.put(key, body.stream, { contentType: "application/octet-stream" })
          expect(stored.size).toBe(size)
          const read = yield* collect((yield* storage.get(key)).stream)
          expect(read.length).toBe(size)
          expect(createHash("sha256").update(read).digest("hex")).toBe(body.sha256)
        })
      )

      it.effect("a failing body stores nothing", () =>
        Effect.gen(function* () {
          const storage = yield* Storage
          const key = organizationKey(randomUUID(), "exports", "broken.csv")
          const body = Stream.concat(
            Stream.make(bytes("first row\n")),
            Stream.fail("the source broke" as const)
          )
          const failed = yield* Effect.flip(storage.put(key, body, { contentType: "text/csv" }))
          expect(failed === "the source broke" || (failed as { _tag?: string })._tag === "StorageError").toBe(
            true
          )
          expect(yield* storage.head(key)).toEqual(Option.none())
        })
      )

      it.effect("a presigned GET reads the object without credentials, under the file name it fixes", () =>
        Effect.gen(function* () {
          const storage = yield* Storage
          const key = organizationKey(randomUUID(), "exports", "taps.csv")
          yield* storage.put(key, Stream.make(bytes("id\n1\n")), { contentType: "text/csv" })
          const url = yield* storage.presignGet(key, { expiresInSeconds: 300, filename: "taps-1.csv" })
          const response = yield* Effect.promise(() => fetch(url))
          expect(response.status).toBe(200)
          expect(yield* Effect.promise(() => response.text())).toBe("id\n1\n")
          expect(response.headers.get("content-disposition")).toContain('filename="taps-1.csv"')

          // Pointing the link at another organisation's object, or changing its expiry, breaks the signature.
          const other = organizationKey(randomUUID(), "exports", "taps.csv")
          yield* storage.put(other, Stream.make(bytes("secret\n")), { contentType: "text/csv" })
          const forged = url.replace(key, other)
          expect(forged).not.toBe(url)
          const refused = yield* Effect.promise(() => fetch(forged))
          expect(refused.status).toBe(403)
          expect(yield* Effect.promise(() => refused.text())).not.toContain("secret")
          const stretched = new URL(url)
          for (const name of ["expires", "X-Amz-Expires"]) {
            const value = stretched.searchParams.get(name)
            if (value !== null) stretched.searchParams.set(name, String(Number(value) + 3600))
          }
          expect((yield* Effect.promise(() => fetch(stretched))).status).toBe(403)
        })
      )

      it.effect("a presigned link stops working when it expires", () =>
        Effect.gen(function* () {
          const storage = yield* Storage
          const key = organizationKey(randomUUID(), "exports", "short.csv")
          yield* storage.put(key, Stream.make(bytes("x\n")), { contentType: "text/csv" })
          // Three seconds: the signature's time is in whole seconds, so a one-second link signed late in a
          // second can be expired by the first fetch on a busy machine (seen in CI).
          const url = yield* storage.presignGet(key, { expiresInSeconds: 3 })
          expect((yield* Effect.promise(() => fetch(url))).status).toBe(200)
          // Awaited, not slept: the link is refused once the clock passes its expiry (S3 counts whole seconds).
          const deadline = Date.now() + 20_000
          let status = 200
          while (status === 200 && Date.now() < deadline) {
            yield* Effect.sleep("100 millis")
            status = (yield* Effect.promise(() => fetch(url))).status
          }
          expect(status).toBe(403)
        })
      )

      it.effect("a presigned PUT stores the uploaded body", () =>
        Effect.gen(function* () {
          const storage = yield* Storage
          const key = organizationKey(randomUUID(), "imports", "bands.csv")
          const url = yield* storage.presignPut(key, { expiresInSeconds: 300, contentType: "text/csv" })
          const response = yield* Effect.promise(() =>
            fetch(url, { method: "PUT", body: "bandId\nA-1\n", headers: { "content-type": "text/csv" } })
          )
          expect(response.status).toBe(200)
          const object = yield* storage.get(key)
          expect(object.size).toBe(11)
          expect((yield* collect(object.stream)).toString()).toBe("bandId\nA-1\n")

          // The link is for a PUT of that key: it reads nothing.
          expect((yield* Effect.promise(() => fetch(url))).status).toBe(403)
        })
      )

      it.effect("a presigned PUT takes the size it grants, exactly, and of its type only", () =>
        Effect.gen(function* () {
          const storage = yield* Storage
          // Not under uploads/, where Tapline's links also ask the ticket (test/Uploads.test.ts).
          const key = organizationKey(randomUUID(), "imports", randomUUID())
          const body = randomBytes(4_096)
          const url = yield* storage.presignPut(key, {
            expiresInSeconds: 300,
            contentType: "image/png",
            contentLength: body.length
          })
          // Signed into the URL: no checksum of the empty body the SDK sees when presigning (S3 would refuse
          // every real upload with BadDigest).
          expect(new URL(url).search).not.toMatch(/x-amz-checksum|x-amz-sdk-checksum/i)
          const send = (
            bytes: Uint8Array,
            headers: Record<string, string> = { "content-type": "image/png" }
          ) => Effect.promise(() => fetch(url, { method: "PUT", body: bytes, headers }).then((r) => r.status))
          // Larger: Tapline's link says 413 (payload too large), S3 refuses the signed Content-Length (403).
          expect([403, 413]).toContain(yield* send(Buffer.concat([body, Buffer.from([1])])))
          expect(yield* send(body.subarray(1))).toBeGreaterThanOrEqual(400)
          expect(yield* send(body, { "content-type": "image/jpeg" })).toBe(403)
          expect(yield* storage.head(key)).toEqual(Option.none())
          expect(yield* send(body)).toBe(200)
          expect(Option.map(yield* storage.head(key), (object) => object.size)).toEqual(
            Option.some(body.length)
          )
        })
      )

      it.effect("lists the objects under a prefix, with their size and when they were written", () =>
        Effect.gen(function* () {
          const storage = yield* Storage
          const organizationId = randomUUID()
          const before = Date.now() - 2_000
          const keys = ["b", "a", "c"].map((name) => organizationKey(organizationId, "uploads", name))
          for (const key of keys)
            yield* storage.put(key, Stream.make(bytes(key)), { contentType: "text/plain" })
          yield* storage.put(organizationKey(organizationId, "exports", "x.csv"), Stream.make(bytes("x")), {
            contentType: "text/csv"
          })
          const listed = Chunk.toArray(
            yield* Stream.runCollect(storage.list(`org/${organizationId}/uploads/`))
          )
          expect(listed.map((object) => object.key)).toEqual([...keys].sort())
          for (const object of listed) {
            expect(object.size).toBe(object.key.length)
            expect(object.lastModified.getTime()).toBeGreaterThanOrEqual(before)
          }
          const all = Chunk.toArray(yield* Stream.runCollect(storage.list(`org/${organizationId}/`)))
          expect(all).toHaveLength(4)
          expect(Chunk.size(yield* Stream.runCollect(storage.list(`org/${randomUUID()}/`)))).toBe(0)
        })
      )
    })
  })

describe("Storage keys", () => {
  it("belong to one organisation and refuse names that climb out of it", () => {
    const organizationId = randomUUID()
    expect(organizationKey(organizationId, "exports", "a.csv")).toBe(`org/${organizationId}/exports/a.csv`)
    for (const bad of ["..", "../x", "a/b", "", ".hidden", "a\u0000b", "a\nb", "é.csv", "x".repeat(201)]) {
      expect(() => organizationKey(organizationId, bad)).toThrow()
    }
    const decode = Schema.decodeUnknownOption(ObjectKey)
    expect(Option.isSome(decode(`org/${organizationId}/exports/a.csv`))).toBe(true)
    for (const bad of [
      "exports/a.csv",
      `org/${organizationId}`,
      `org/${organizationId}/../other/a.csv`,
      `org/${organizationId}/exports/..`,
      `/org/${organizationId}/a.csv`,
      `org/not-a-uuid/a.csv`
    ]) {
      expect(Option.isNone(decode(bad))).toBe(true)
    }
  })
})

contract("local folder, links served by Tapline", adminHarness())
contract("S3 (s3rver, SigV4 verified)", S3Endpoint)

describe("S3 specifics", () => {
  layer(S3Endpoint, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("bodies above the threshold go up as a multipart upload", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const { requests } = yield* S3Server
        const large = organizationKey(randomUUID(), "exports", "parts.bin")
        const small = organizationKey(randomUUID(), "exports", "single.bin")
        yield* storage.put(large, randomBody(11 * 1024 * 1024).stream, {
          contentType: "application/octet-stream"
        })
        yield* storage.put(small, randomBody(1024).stream, { contentType: "application/octet-stream" })
        const of = (key: string) => requests.filter((line) => line.includes(key))
        // 11 MiB in 5 MiB parts: start, three parts, complete.
        expect(of(large).filter((line) => /^POST .*\?uploads/.test(line))).toHaveLength(1)
        expect(of(large).filter((line) => /^PUT .*partNumber=/.test(line))).toHaveLength(3)
        expect(of(large).filter((line) => /^POST .*uploadId=/.test(line))).toHaveLength(1)
        // 1 KiB: one plain PUT.
        expect(of(small)).toHaveLength(1)
        expect(of(small)[0]).toMatch(/^PUT /)
      })
    )

    it.effect("a wrong secret is refused by the signature check, and the error does not carry it", () =>
      Effect.gen(function* () {
        const { endpoint } = yield* S3Server
        const wrong = yield* S3Storage.make(s3Options(endpoint, "not-the-secret-42"))
        const key = organizationKey(randomUUID(), "exports", "denied.csv")
        const error = yield* Effect.flip(wrong.put(key, Stream.make(bytes("x")), { contentType: "text/csv" }))
        expect(error._tag).toBe("StorageError")
        expect(JSON.stringify({ ...error, cause: undefined })).not.toContain("not-the-secret-42")
        expect((error as { message: string }).message).toMatch(/signature/i)
      }).pipe(Effect.scoped)
    )
  })
})

describe("Storage links served by Tapline, tried as an attacker would", () => {
  layer(adminHarness(), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("refuse unsigned, forged, traversing and oversized requests with a 4xx and no content", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const { url: base } = yield* AdminServer
        const key = organizationKey(randomUUID(), "exports", "private.csv")
        yield* storage.put(key, Stream.make(bytes("private\n")), { contentType: "text/csv" })
        const signed = new URL(yield* storage.presignGet(key, { expiresInSeconds: 300 }))
        const query = signed.search
        const attempts: ReadonlyArray<[string, string, RequestInit?]> = [
          ["unsigned", `/storage/${key}`],
          ["traversal", `/storage/org/${randomUUID()}/..%2F..%2F..%2Fetc%2Fpasswd${query}`],
          ["encoded traversal of the signed key", `/storage/${key.replace("exports", "%2E%2E")}${query}`],
          ["NUL in the key", `/storage/${key}%00${query}`],
          ["control characters", `/storage/${key}%0d%0aSet-Cookie:%20x${query}`],
          ["non-Latin-1 key", `/storage/org/${randomUUID()}/%E2%98%83${query}`],
          ["1 MB query", `/storage/${key}${query}&pad=${"x".repeat(1024 * 1024)}`],
          ["a GET link used to write", `/storage/${key}${query}`, { method: "PUT", body: "overwritten" }]
        ]
        for (const [what, path, init] of attempts) {
          const response = yield* Effect.promise(() => fetch(`${base}${path}`, init))
          const text = yield* Effect.promise(() => response.text())
          expect({ what, client: response.status >= 400 && response.status < 500 }).toEqual({
            what,
            client: true
          })
          expect(text).not.toContain("private")
        }
        expect((yield* collect((yield* storage.get(key)).stream)).toString()).toBe("private\n")
      })
    )
  })
})
