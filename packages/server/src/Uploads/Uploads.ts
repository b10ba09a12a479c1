import { randomUUID } from "node:crypto"
import {
  type CreateUpload,
  InvalidRequest,
  OrganizationId,
  type Principal,
  UploadId,
  type UploadPurpose,
  uploadRules
} from "@tapline/domain"
import { Chunk, DateTime, Effect, Option, Schema, Stream } from "effect"
import { Changes } from "../Admin/Changes.js"
import { removeExpired } from "../Storage/Expiry.js"
import { limitBytes, ObjectKey, organizationKey, Storage } from "../Storage/Storage.js"
import { UploadRepository } from "./UploadRepository.js"

/**
 * How long the PUT link works: short, since a presigned S3 URL cannot be recalled once its upload is used
 * (storage checks the expiry when a request starts, so a slow upload still finishes). The upload itself waits
 * a day to be used.
 */
const LINK_SECONDS = 5 * 60
const KEEP_SECONDS = 24 * 60 * 60
/** An object under `uploads/` that no live ticket accounts for is removed once this old (see sweepUploads). */
const SWEEP_GRACE_SECONDS = 10 * 60
const SWEEP_BATCH = 500

/** `org/<organisation>/uploads/<upload id>`: what a ticket's link writes. */
const TICKET_KEY = /^org\/([0-9a-f-]{36})\/uploads\/([^/]+)$/
const UNDER_UPLOADS = /^org\/[0-9a-f-]{36}\/uploads\//

const keyOf = (organizationId: OrganizationId, id: UploadId) => organizationKey(organizationId, "uploads", id)

const notUploaded = (id: UploadId) =>
  new InvalidRequest({ message: `nothing has been uploaded for upload ${id} yet` })
const tooLarge = (maxBytes: number) =>
  new InvalidRequest({ message: `the uploaded file is larger than ${maxBytes} bytes` })

/** An uploaded file read back for the feature that asked for it. */
export interface UploadedFile {
  readonly id: UploadId
  readonly contentType: string
  readonly bytes: Uint8Array
}

/**
 * Files sent straight to Storage by presigned PUT. The ticket fixes the organisation, the purpose, the type
 * and the exact size, and storage enforces the last two (S3 by the signed headers, the local folder while it
 * streams). Reading the file back checks them all again: the rule is the feature's, storage is the first line.
 */
export class Uploads extends Effect.Service<Uploads>()("@tapline/server/Uploads", {
  effect: Effect.gen(function* () {
    const repository = yield* UploadRepository
    const storage = yield* Storage
    const changes = yield* Changes

    const create = Effect.fn("Uploads.create")(function* (
      principal: Principal,
      organizationId: OrganizationId,
      input: typeof CreateUpload.Type
    ) {
      const rules = uploadRules[input.purpose]
      if (!rules.contentTypes.includes(input.contentType)) {
        return yield* new InvalidRequest({
          message: `a ${input.purpose} upload is one of ${rules.contentTypes.join(", ")}`
        })
      }
      if (input.size > rules.maxBytes) {
        return yield* new InvalidRequest({
          message: `a ${input.purpose} upload is at most ${rules.maxBytes} bytes`
        })
      }
      const id = UploadId.make(randomUUID())
      const objectKey = keyOf(organizationId, id)
      const uploadUrl = yield* Effect.orDie(
        storage.presignPut(objectKey, {
          expiresInSeconds: LINK_SECONDS,
          contentType: input.contentType,
          contentLength: input.size
        })
      )
      yield* changes
        .transact(
          Effect.gen(function* () {
            yield* repository.insert({
              id,
              organizationId,
              purpose: input.purpose,
              contentType: input.contentType,
              objectKey,
              createdBy: `${principal.actorType}:${principal.actorId}`,
              validSeconds: KEEP_SECONDS
            })
            yield* changes.record({
              organizationId,
              action: "upload.create",
              resourceType: "upload",
              resourceId: id,
              newValues: input
            })
          })
        )
        .pipe(Effect.catchTag("Conflict", Effect.die)) // the id is fresh: no constraint can refuse it
      return {
        id,
        purpose: input.purpose,
        contentType: input.contentType,
        method: "PUT" as const,
        uploadUrl,
        size: input.size,
        maxBytes: rules.maxBytes,
        expiresAt: DateTime.addDuration(yield* DateTime.now, `${LINK_SECONDS} seconds`)
      }
    })

    /** The file of an upload made for `purpose`; InvalidRequest when it is missing, too large or for another use. */
    const read = Effect.fn("Uploads.read")(function* (
      organizationId: OrganizationId,
      id: UploadId,
      purpose: UploadPurpose
    ) {
      const row = yield* changes.found("upload", id, repository.find(organizationId, id))
      if (row.purpose !== purpose) {
        return yield* new InvalidRequest({ message: `upload ${id} is for ${row.purpose}, not ${purpose}` })
      }
      const key = Schema.decodeUnknownSync(ObjectKey)(row.objectKey)
      const object = yield* Effect.orDie(storage.head(key))
      if (Option.isNone(object)) return yield* notUploaded(id)
      const { maxBytes } = uploadRules[purpose]
      if (object.value.size > maxBytes) return yield* tooLarge(maxBytes)
      if (object.value.contentType !== row.contentType) {
        return yield* new InvalidRequest({ message: `the uploaded file is not ${row.contentType}` })
      }
      // The size is counted again while reading: the link still works, and the object may have been replaced.
      const content = yield* storage.get(key).pipe(
        Effect.flatMap((found) =>
          Stream.runCollect(limitBytes(found.stream, maxBytes, () => tooLarge(maxBytes)))
        ),
        Effect.catchTag("ObjectNotFound", () => Effect.fail(notUploaded(id))),
        Effect.catchTag("StorageError", Effect.die)
      )
      return {
        id,
        contentType: row.contentType,
        bytes: Buffer.concat(Chunk.toArray(content))
      } satisfies UploadedFile
    })

    /** Used up: the object and the ticket go. */
    const discard = Effect.fn("Uploads.discard")(function* (organizationId: OrganizationId, id: UploadId) {
      yield* Effect.orDie(storage.remove(keyOf(organizationId, id)))
      yield* Effect.orDie(repository.remove(id))
    })

    return { create, read, discard } as const
  }),
  dependencies: [UploadRepository.Default]
}) {}

/**
 * Whether a signed link may still write `key`: under an organisation's `uploads/`, only while its ticket is
 * live (a used ticket's row is gone, an expired one no longer found). Other keys: the link alone decides.
 */
export const uploadLinkAdmits = (key: string) =>
  Effect.gen(function* () {
    if (!UNDER_UPLOADS.test(key)) return true
    const match = TICKET_KEY.exec(key)
    const organizationId = Schema.decodeUnknownOption(OrganizationId)(match?.[1])
    const id = Schema.decodeUnknownOption(UploadId)(match?.[2])
    if (Option.isNone(organizationId) || Option.isNone(id)) return false
    const uploads = yield* UploadRepository
    return (yield* uploads.find(organizationId.value, id.value)) !== undefined
  })

/**
 * Removes every object under an organisation's `uploads/` that no live ticket accounts for and that is older
 * than the grace period: a sweep of the prefix in Storage, not of the rows, since a presigned S3 URL still
 * writes after its upload was used, and whatever it wrote has no row left to find it by. How many it removed.
 */
export const sweepUploads = (options: { readonly graceSeconds: number }) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const uploads = yield* UploadRepository
    const before = Date.now() - options.graceSeconds * 1000
    const removed = yield* storage.list("org/").pipe(
      Stream.filter((object) => UNDER_UPLOADS.test(object.key) && object.lastModified.getTime() <= before),
      Stream.grouped(SWEEP_BATCH),
      Stream.mapEffect((batch) =>
        Effect.gen(function* () {
          const keys = Chunk.toArray(batch).map((object) => object.key)
          const live = yield* uploads.liveKeys(keys)
          let count = 0
          for (const key of keys) {
            const objectKey = Schema.decodeUnknownOption(ObjectKey)(key)
            if (live.has(key)) continue
            if (Option.isNone(objectKey)) {
              yield* Effect.logWarning("an object under uploads/ has no valid key; left in place").pipe(
                Effect.annotateLogs({ objectKey: key.slice(0, 300) })
              )
              continue
            }
            yield* storage.remove(objectKey.value)
            count += 1
          }
          return count
        })
      ),
      Stream.runFold(0, (total, count) => total + count)
    )
    if (removed > 0)
      yield* Effect.logInfo("objects under uploads/ without a live ticket removed").pipe(
        Effect.annotateLogs({ count: removed })
      )
    return removed
  }).pipe(Effect.withSpan("Uploads.sweep"))

/**
 * The uploads job: removes uploads a day old, used or not, object and ticket, then sweeps the prefix for
 * objects no ticket accounts for; how many objects went.
 */
export const expireUploads = Effect.flatMap(UploadRepository, (uploads) =>
  removeExpired({ name: "uploads", due: uploads.expired, done: (row) => uploads.remove(row.id) })
).pipe(
  Effect.flatMap((expired) =>
    Effect.map(sweepUploads({ graceSeconds: SWEEP_GRACE_SECONDS }), (swept) => expired + swept)
  )
)
