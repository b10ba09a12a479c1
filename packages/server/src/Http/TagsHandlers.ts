import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as SqlClient from "@effect/sql/SqlClient"
import { NotFound, Tag, TaplineApi } from "@tapline/domain"
import { Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { decodeCursor, toPage } from "../Admin/Pagination.js"
import { patchColumns } from "../Admin/Patch.js"
import { Audit } from "../Audit/Audit.js"
import { requireRole } from "../Auth/Authorization.js"

const decode = Schema.decodeUnknown(Tag)

export const TagsHandlers = HttpApiBuilder.group(TaplineApi, "tags", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const changes = yield* Changes
    const audit = yield* Audit

    const notFound = (id: string) => new NotFound({ resource: "tag", id })

    return handlers
      .handle("list", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          const after = yield* decodeCursor(urlParams.cursor)
          const rows = yield* sql`select * from tags where organization_id = ${path.organizationId}
            ${after === null ? sql`` : sql`and id > ${after}`} order by id limit ${urlParams.limit + 1}`.pipe(
            Effect.orDie
          )
          const items = yield* Effect.orDie(Effect.forEach(rows, (row) => decode(row)))
          return toPage(items, urlParams.limit, (tag) => tag.id)
        })
      )
      .handle("create", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          return yield* changes.transact(
            Effect.gen(function* () {
              const [row] = yield* sql`insert into tags ${sql.insert({
                organizationId: path.organizationId,
                name: payload.name,
                color: payload.color ?? null
              })} returning *`
              const tag = yield* Effect.orDie(decode(row))
              yield* audit.record({
                organizationId: path.organizationId,
                action: "tag.create",
                resourceType: "tag",
                resourceId: tag.id,
                newValues: row
              })
              return tag
            })
          )
        })
      )
      .handle("update", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          const columns = patchColumns(payload)
          return yield* changes.transact(
            Effect.gen(function* () {
              const [before] = yield* sql`select * from tags
                where id = ${path.tagId} and organization_id = ${path.organizationId} for update`
              if (before === undefined) return yield* notFound(path.tagId)
              if (Object.keys(columns).length === 0) return yield* Effect.orDie(decode(before))
              const [after] =
                yield* sql`update tags set ${sql.update(columns)} where id = ${path.tagId} returning *`
              yield* audit.record({
                organizationId: path.organizationId,
                action: "tag.update",
                resourceType: "tag",
                resourceId: path.tagId,
                oldValues: before,
                newValues: after
              })
              return yield* Effect.orDie(decode(after))
            })
          )
        })
      )
      .handle("delete", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          yield* changes.transact(
            Effect.gen(function* () {
              const [before] = yield* sql`delete from tags
                where id = ${path.tagId} and organization_id = ${path.organizationId} returning *`
              if (before === undefined) return yield* notFound(path.tagId)
              yield* audit.record({
                organizationId: path.organizationId,
                action: "tag.delete",
                resourceType: "tag",
                resourceId: path.tagId,
                oldValues: before
              })
            })
          )
        })
      )
  })
)
