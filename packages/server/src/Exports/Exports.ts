import * as SqlClient from "@effect/sql/SqlClient"
import {
  Conflict,
  type CreateExport,
  Export,
  type ExportId,
  type OrganizationId,
  type Principal
} from "@tapline/domain"
import { Effect, Schema, Stream } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { requireRole } from "../Auth/Authorization.js"
import { EventRepository } from "../Events/EventRepository.js"
import { enqueueJob, Jobs } from "../Jobs/Jobs.js"
import { Quotas } from "../Quotas/Quotas.js"
import { slug } from "../Storage/ContentDisposition.js"
import { ObjectKey, Storage } from "../Storage/Storage.js"
import { type ExportRequest, exportCsv } from "./CsvExports.js"
import { exportQueue } from "./ExportJob.js"
import { ExportRepository } from "./ExportRepository.js"

const { downloadUrl: _, ...stored } = Export.fields
const ExportRow = Schema.Struct({
  ...stored,
  rows: Schema.NullOr(Schema.NumberFromString),
  bytes: Schema.NullOr(Schema.NumberFromString),
  objectKey: Schema.NullOr(ObjectKey),
  createdAt: Schema.DateTimeUtcFromDate,
  finishedAt: Schema.NullOr(Schema.DateTimeUtcFromDate),
  expiresAt: Schema.NullOr(Schema.DateTimeUtcFromDate),
  day: Schema.String
})

/**
 * What a download is saved as: the event's name in its own letters and its day, e.g.
 * `taps-fête-東京-2026-12-06.csv` (the header adds an ASCII fallback), or `audit-log-2026-12-06.csv`.
 */
export const exportFilename = (kind: string, eventName: string | null, day: string) =>
  kind === "taps" ? `taps-${slug(eventName ?? "", "event")}-${day}.csv` : `${kind}-log-${day}.csv`

/** How long a download link works: long enough to start the download, short enough not to be passed around. */
const LINK_SECONDS = 300

/** Who may see an export's content: the taps of an event are for members; the audit log for OWNERs. */
export const roleFor = (kind: string) => (kind === "audit" ? ("OWNER" as const) : ("VIEWER" as const))

const KINDS = Export.fields.kind.literals

/**
 * The kinds of export the caller may read in the organisation. An export is its content (an audit export is
 * the audit log): below its role the caller is not shown the export at all, in a list or by id, not just
 * denied the download (docs/decisions.md).
 */
const readableKinds = (organizationId: OrganizationId) =>
  Effect.filter(KINDS, (kind) => Effect.isSuccess(requireRole(organizationId, roleFor(kind))))

/** CSV exports run by a background job into Storage; their files are removed after `KEEP_DAYS`. */
export class Exports extends Effect.Service<Exports>()("@tapline/server/Exports", {
  effect: Effect.gen(function* () {
    const repository = yield* ExportRepository
    const sql = yield* SqlClient.SqlClient
    const events = yield* EventRepository
    const changes = yield* Changes
    const jobs = yield* Jobs
    const storage = yield* Storage

    /** The API's view of a row: a fresh download link while the file exists. */
    const decode = (row: unknown) =>
      Effect.gen(function* () {
        const { objectKey, day, ...fields } = yield* Effect.orDie(Schema.decodeUnknown(ExportRow)(row))
        const downloadUrl =
          fields.status === "done" && objectKey !== null
            ? yield* Effect.orDie(
                storage.presignGet(objectKey, {
                  expiresInSeconds: LINK_SECONDS,
                  filename: exportFilename(fields.kind, fields.eventName, day)
                })
              )
            : null
        return new Export({ ...fields, downloadUrl })
      })

    /** An export by id: a caller below its kind's role gets 403, as for its download. */
    const get = Effect.fn("Exports.get")(function* (organizationId: OrganizationId, id: ExportId) {
      const row = yield* changes.found("export", id, repository.find(organizationId, id))
      yield* requireRole(organizationId, roleFor(String(row.kind)))
      return yield* decode(row)
    })

    /** Enqueued with the insert: the job exists exactly when the export does. */
    const create = Effect.fn("Exports.create")(function* (
      principal: Principal,
      organizationId: OrganizationId,
      request: typeof CreateExport.Type,
      encoded: typeof CreateExport.Encoded
    ) {
      if (request.kind === "taps") {
        if (!(yield* Effect.orDie(events.exists(organizationId, request.eventId)))) {
          return yield* changes.notFound("event", request.eventId)
        }
      }
      // Each export is a job on the queue every organisation shares: counted per organisation.
      yield* (yield* Quotas).take("exports", organizationId)
      return yield* changes.transact(
        Effect.gen(function* () {
          const created = yield* decode(
            yield* repository.insert({
              organizationId,
              kind: request.kind,
              params: encoded,
              createdBy: `${principal.actorType}:${principal.actorId}`
            })
          )
          yield* Effect.orDie(
            enqueueJob(jobs, exportQueue, { exportId: created.id }, { group: organizationId })
          )
          yield* changes.record({
            organizationId,
            action: "export.create",
            resourceType: "export",
            resourceId: created.id,
            newValues: encoded
          })
          return created
        })
      )
    })

    /** The exports the caller may read (filtered in SQL, so pages stay full and cursors right). */
    const list = Effect.fn("Exports.list")(function* (organizationId: OrganizationId, request: PageRequest) {
      const kinds = yield* readableKinds(organizationId)
      return yield* listPage(
        request,
        (query) => repository.list(organizationId, kinds, query),
        decode,
        (e) => e.id
      )
    })

    /** The link a download redirects to; a Conflict while the export is not done or after it expired. */
    const download = Effect.fn("Exports.download")(function* (organizationId: OrganizationId, id: ExportId) {
      const found = yield* get(organizationId, id)
      if (found.downloadUrl === null) {
        return yield* new Conflict({ message: `the export is ${found.status}, not done` })
      }
      return found.downloadUrl
    })

    /** A CSV streamed straight from the database (the synchronous downloads). */
    const csv = (organizationId: OrganizationId, request: ExportRequest) =>
      exportCsv(organizationId, request).pipe(
        Stream.encodeText,
        Stream.provideService(SqlClient.SqlClient, sql)
      )

    return { get, create, list, download, csv } as const
  }),
  dependencies: [ExportRepository.Default, EventRepository.Default]
}) {}
