import {
  Activation,
  type CreateActivation,
  DependencyUnavailable,
  InvalidRequest,
  type OrganizationId,
  type PageParams,
  Report,
  type ReportBody,
  type SignedReport,
  type UpdateActivation
} from "@tapline/domain"
import { DateTime, Effect, Schema, Stream } from "effect"
import { v7 as uuidv7 } from "uuid"
import { Changes } from "../Admin/Changes.js"
import { listPage } from "../Admin/Pagination.js"
import { organizationKey, Storage } from "../Storage/Storage.js"
import { canonicalize } from "./Canonical.js"
import { auditTrail, computeFigures } from "./ReportFigures.js"
import { ReportKeys } from "./ReportKeys.js"
import { renderPdf } from "./ReportPdf.js"
import { type ActivationRow, ReportRepository, type ReportRow } from "./ReportRepository.js"

/** How long a download link lives. */
const LINK_SECONDS = 300

/** Rows decode as the API's encoded form: instants as ISO text. */
const toActivation = (row: ActivationRow) =>
  Effect.orDie(
    Schema.decodeUnknown(Activation)({
      ...row,
      startsAt: row.startsAt.toISOString(),
      endsAt: row.endsAt.toISOString(),
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString()
    })
  )

const toReport = (row: ReportRow) =>
  Effect.orDie(
    Schema.decodeUnknown(Report)({
      id: row.id,
      activationId: row.activationId,
      issuedAt: row.issuedAt.toISOString(),
      keyId: row.keyId,
      signed: {
        report: JSON.parse(row.document),
        algorithm: "Ed25519",
        keyId: row.keyId,
        signature: row.signature
      }
    })
  )

/** The exported JSON file: pretty-printed for people; verifiers canonicalise it again. */
export const signedJson = (signed: SignedReport) => `${JSON.stringify(signed, null, 2)}\n`

/**
 * Activations and their signed reports (docs/reports.md). Authorisation is the caller's (ReportsHandlers);
 * every change to an activation is audited, and that audit trail goes into each report issued for it.
 */
export class Reports extends Effect.Service<Reports>()("@tapline/server/Reports", {
  effect: Effect.gen(function* () {
    const repository = yield* ReportRepository
    const changes = yield* Changes
    const keys = yield* ReportKeys
    const storage = yield* Storage

    type Fields = Omit<Parameters<typeof repository.insertActivation>[0], "organizationId">

    /** The rules the schema cannot say: a range that ends after it starts, a selection of the organisation's own ids. */
    const checked = (organizationId: OrganizationId, fields: Fields) =>
      Effect.gen(function* () {
        if (fields.startsAt.getTime() >= fields.endsAt.getTime()) {
          return yield* new InvalidRequest({ message: "endsAt: must be after startsAt" })
        }
        if (fields.bandIds.length + fields.tagIds.length + fields.windowIds.length === 0) {
          return yield* new InvalidRequest({
            message: "an activation selects at least one band, tag or window"
          })
        }
        for (const [table, ids] of [
          ["bands", fields.bandIds],
          ["tags", fields.tagIds],
          ["windows", fields.windowIds]
        ] as const) {
          const unique = [...new Set(ids)]
          if ((yield* Effect.orDie(repository.countOwned(table, organizationId, unique))) !== unique.length) {
            return yield* new InvalidRequest({
              message: `${table}: an id is not one of the organisation's ${table}`
            })
          }
        }
        return {
          ...fields,
          bandIds: [...new Set(fields.bandIds)],
          tagIds: [...new Set(fields.tagIds)],
          windowIds: [...new Set(fields.windowIds)]
        }
      })

    const findActivation = (organizationId: OrganizationId, id: string) =>
      changes.found("activation", id, repository.findActivation(organizationId, id))

    const listActivations = Effect.fn("Reports.listActivations")(function* (
      organizationId: OrganizationId,
      request: PageParams
    ) {
      return yield* listPage(
        request,
        (query) => repository.listActivations(organizationId, query.after, query.limit),
        toActivation,
        (a) => a.id
      )
    })

    const getActivation = Effect.fn("Reports.getActivation")(function* (
      organizationId: OrganizationId,
      id: string
    ) {
      return yield* toActivation(yield* findActivation(organizationId, id))
    })

    const createActivation = Effect.fn("Reports.createActivation")(function* (
      organizationId: OrganizationId,
      input: typeof CreateActivation.Type
    ) {
      const fields = yield* checked(organizationId, {
        name: input.name,
        bandIds: input.bandIds,
        tagIds: input.tagIds,
        windowIds: input.windowIds,
        startsAt: DateTime.toDate(input.startsAt),
        endsAt: DateTime.toDate(input.endsAt)
      })
      const row = yield* changes.createRow({
        organizationId,
        resourceType: "activation",
        action: "activation.create",
        insert: repository.insertActivation({ organizationId, ...fields })
      })
      return yield* toActivation(row)
    })

    const updateActivation = Effect.fn("Reports.updateActivation")(function* (
      organizationId: OrganizationId,
      id: string,
      input: typeof UpdateActivation.Type
    ) {
      const before = yield* findActivation(organizationId, id)
      const fields = yield* checked(organizationId, {
        name: input.name ?? before.name,
        bandIds: input.bandIds ?? before.bandIds,
        tagIds: input.tagIds ?? before.tagIds,
        windowIds: input.windowIds ?? before.windowIds,
        startsAt: input.startsAt === undefined ? before.startsAt : DateTime.toDate(input.startsAt),
        endsAt: input.endsAt === undefined ? before.endsAt : DateTime.toDate(input.endsAt)
      })
      const row = yield* changes.changeRow({
        organizationId,
        resourceType: "activation",
        resourceId: id,
        action: "activation.update",
        lock: repository.findActivation(organizationId, id, true),
        apply: () => repository.updateActivation(id, fields)
      })
      return yield* toActivation(row)
    })

    /** Deleted for good, audited; the reports issued for it stay (they are what was handed on). */
    const deleteActivation = Effect.fn("Reports.deleteActivation")(function* (
      organizationId: OrganizationId,
      id: string
    ) {
      yield* changes.transact(
        Effect.gen(function* () {
          const before = yield* changes.found(
            "activation",
            id,
            repository.findActivation(organizationId, id, true)
          )
          yield* repository.deleteActivation(id)
          yield* changes.record({
            organizationId,
            action: "activation.delete",
            resourceType: "activation",
            resourceId: id,
            oldValues: before,
            newValues: null
          })
        })
      )
    })

    /**
     * Issues a report: the figures and the audit trail as they are now, signed; the JSON and PDF into Storage,
     * then the row and its audit entry. Objects written for a report whose row then failed are orphans under
     * the organisation's `reports/` prefix, never a report without its files.
     */
    const issue = Effect.fn("Reports.issue")(function* (
      organizationId: OrganizationId,
      activationId: string
    ) {
      const activation = yield* findActivation(organizationId, activationId)
      const id = uuidv7()
      const issuedAt = new Date()
      const figures = yield* Effect.orDie(
        computeFigures({
          organizationId,
          bandIds: activation.bandIds,
          tagIds: activation.tagIds,
          windowIds: activation.windowIds,
          from: activation.startsAt,
          to: activation.endsAt
        })
      )
      const trail = yield* Effect.orDie(auditTrail(organizationId, activationId))
      const body: ReportBody = {
        format: "tapline.report/1",
        id,
        organization: {
          id: organizationId,
          name: yield* Effect.orDie(repository.organizationName(organizationId))
        },
        activation: {
          id: activation.id,
          name: activation.name,
          bandIds: [...activation.bandIds],
          tagIds: [...activation.tagIds],
          windowIds: [...activation.windowIds]
        },
        range: { from: activation.startsAt.toISOString(), to: activation.endsAt.toISOString() },
        issuedAt: issuedAt.toISOString(),
        figures,
        auditTrail: trail,
        authenticity: null
      }
      const signed: SignedReport = { report: body, ...keys.sign(body) }
      const jsonKey = organizationKey(organizationId, "reports", `${id}.json`)
      const pdfKey = organizationKey(organizationId, "reports", `${id}.pdf`)
      const pdf = yield* renderPdf(signed)
      const unavailable = () =>
        new DependencyUnavailable({ message: "storage is unavailable: the report was not issued" })
      yield* storage
        .put(jsonKey, Stream.make(new TextEncoder().encode(signedJson(signed))), {
          contentType: "application/json"
        })
        .pipe(Effect.mapError(unavailable))
      yield* storage
        .put(pdfKey, Stream.make(new Uint8Array(pdf)), { contentType: "application/pdf" })
        .pipe(Effect.mapError(unavailable))
      const row = yield* changes.createRow({
        organizationId,
        resourceType: "report",
        action: "report.issue",
        insert: repository.insertReport({
          id,
          organizationId,
          activationId,
          issuedAt,
          document: canonicalize(body),
          signature: signed.signature,
          keyId: signed.keyId,
          jsonObjectKey: jsonKey,
          pdfObjectKey: pdfKey
        })
      })
      return yield* toReport(row)
    })

    const listReports = Effect.fn("Reports.listReports")(function* (
      organizationId: OrganizationId,
      activationId: string,
      request: PageParams
    ) {
      yield* findActivation(organizationId, activationId)
      return yield* listPage(
        request,
        (query) => repository.listReports(organizationId, activationId, query.after, query.limit),
        toReport,
        (r) => r.id
      )
    })

    const findReport = (organizationId: OrganizationId, id: string) =>
      changes.found("report", id, repository.findReport(organizationId, id))

    const getReport = Effect.fn("Reports.getReport")(function* (organizationId: OrganizationId, id: string) {
      return yield* toReport(yield* findReport(organizationId, id))
    })

    /** A presigned link to the report's JSON or PDF file. */
    const download = Effect.fn("Reports.download")(function* (
      organizationId: OrganizationId,
      id: string,
      kind: "json" | "pdf"
    ) {
      const row = yield* findReport(organizationId, id)
      const key = organizationKey(organizationId, "reports", `${row.id}.${kind}`)
      return yield* storage
        .presignGet(key, { expiresInSeconds: LINK_SECONDS, filename: `tapline-report-${row.id}.${kind}` })
        .pipe(Effect.mapError(() => new DependencyUnavailable({ message: "storage is unavailable" })))
    })

    return {
      listActivations,
      getActivation,
      createActivation,
      updateActivation,
      deleteActivation,
      issue,
      listReports,
      getReport,
      download
    } as const
  }),
  dependencies: [ReportRepository.Default]
}) {}
