import { randomUUID } from "node:crypto"
import {
  type CreateUpload,
  InvalidRequest,
  type OrganizationId,
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

/** How long the PUT link works; the upload itself waits a day to be used. */
const LINK_SECONDS = 15 * 60
const KEEP_SECONDS = 24 * 60 * 60

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
 * Files sent straight to Storage by presigned PUT. The ticket fixes the organisation, the purpose and the
 * type; reading the file back checks all three and its size, since a presigned S3 PUT cannot bound the size.
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
      const id = UploadId.make(randomUUID())
      const objectKey = keyOf(organizationId, id)
      const uploadUrl = yield* Effect.orDie(
        storage.presignPut(objectKey, { expiresInSeconds: LINK_SECONDS, contentType: input.contentType })
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

/** Removes uploads a day old, used or not, object and ticket; how many. */
export const expireUploads = Effect.flatMap(UploadRepository, (uploads) =>
  removeExpired({ name: "uploads", due: uploads.expired, done: (row) => uploads.remove(row.id) })
)
