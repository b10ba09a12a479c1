import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import { Campaign, type CampaignId, NotFound, type OrganizationId, TaplineApi } from "@tapline/domain"
import { Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { decodeCursor, toPage } from "../Admin/Pagination.js"
import { patchColumns } from "../Admin/Patch.js"
import { Audit } from "../Audit/Audit.js"
import { requireRole } from "../Auth/Authorization.js"

const decode = Schema.decodeUnknown(Campaign)

export const CampaignsHandlers = HttpApiBuilder.group(TaplineApi, "campaigns", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const changes = yield* Changes
    const audit = yield* Audit

    const load = (
      organizationId: OrganizationId,
      id: CampaignId,
      options: { deleted?: boolean; lock?: boolean } = {}
    ) =>
      sql`
        select * from campaigns where id = ${id} and organization_id = ${organizationId}
          and deleted_at is ${options.deleted ? sql`not null` : sql`null`} ${options.lock ? sql`for update` : sql``}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows[0] === undefined ? new NotFound({ resource: "campaign", id }) : Effect.succeed(rows[0])
        )
      )

    const change = (
      organizationId: OrganizationId,
      id: CampaignId,
      action: string,
      options: { deleted?: boolean },
      update: (client: SqlClient.SqlClient) => Effect.Effect<ReadonlyArray<object>, SqlError.SqlError>
    ) =>
      changes.transact(
        Effect.gen(function* () {
          const before = yield* load(organizationId, id, { ...options, lock: true })
          const [after] = yield* update(sql)
          yield* audit.record({
            organizationId,
            action,
            resourceType: "campaign",
            resourceId: id,
            oldValues: before,
            newValues: after ?? null
          })
          return yield* Effect.orDie(decode(after ?? before))
        })
      )

    return handlers
      .handle("list", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          const after = yield* decodeCursor(urlParams.cursor)
          const rows = yield* sql`
            select * from campaigns where organization_id = ${path.organizationId}
              and deleted_at is ${urlParams.deleted ? sql`not null` : sql`null`}
              ${urlParams.status === undefined ? sql`` : sql`and status = ${urlParams.status}`}
              ${after === null ? sql`` : sql`and id < ${after}`}
            order by id desc limit ${urlParams.limit + 1}`.pipe(Effect.orDie)
          const items = yield* Effect.orDie(Effect.forEach(rows, (row) => decode(row)))
          return toPage(items, urlParams.limit, (c) => c.id)
        })
      )
      .handle("create", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          return yield* changes.transact(
            Effect.gen(function* () {
              const [row] = yield* sql`insert into campaigns ${sql.insert({
                organizationId: path.organizationId,
                name: payload.name,
                status: payload.status,
                startsOn: payload.startsOn ?? null,
                endsOn: payload.endsOn ?? null
              })} returning *`
              const campaign = yield* Effect.orDie(decode(row))
              yield* audit.record({
                organizationId: path.organizationId,
                action: "campaign.create",
                resourceType: "campaign",
                resourceId: campaign.id,
                newValues: row
              })
              return campaign
            })
          )
        })
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          return yield* Effect.orDie(decode(yield* load(path.organizationId, path.campaignId)))
        })
      )
      .handle("update", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          const columns = patchColumns(payload)
          return yield* change(path.organizationId, path.campaignId, "campaign.update", {}, (sql) =>
            Object.keys(columns).length === 0
              ? Effect.succeed([])
              : sql`update campaigns set ${sql.update(columns)}, updated_at = now()
                  where id = ${path.campaignId} returning *`
          )
        })
      )
      .handle("delete", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          yield* change(
            path.organizationId,
            path.campaignId,
            "campaign.delete",
            {},
            (sql) =>
              sql`update campaigns set deleted_at = now(), updated_at = now() where id = ${path.campaignId} returning *`
          )
        })
      )
      .handle("restore", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          return yield* change(
            path.organizationId,
            path.campaignId,
            "campaign.restore",
            { deleted: true },
            (sql) =>
              sql`update campaigns set deleted_at = null, updated_at = now() where id = ${path.campaignId} returning *`
          )
        })
      )
  })
)
