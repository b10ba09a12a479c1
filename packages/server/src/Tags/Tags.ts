import type { SqlError } from "@effect/sql/SqlError"
import { type CreateTag, type OrganizationId, Tag, type TagId, type UpdateTag } from "@tapline/domain"
import { Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { patchColumns } from "../Admin/Patch.js"
import { TagRepository, type TagRow } from "./TagRepository.js"

const decode = (row: TagRow) => Effect.orDie(Schema.decodeUnknown(Tag)(row))

/** An organisation's band tags (VIP, staff, …). Authorisation is the caller's. */
export class Tags extends Effect.Service<Tags>()("@tapline/server/Tags", {
  effect: Effect.gen(function* () {
    const repository = yield* TagRepository
    const changes = yield* Changes

    const list = Effect.fn("Tags.list")(function* (organizationId: OrganizationId, request: PageRequest) {
      const fetch = (query: { after: string | null; limit: number }) =>
        repository.page(organizationId, query.after, query.limit)
      return yield* listPage(request, fetch, decode, (tag) => tag.id)
    })

    const create = Effect.fn("Tags.create")(function* (
      organizationId: OrganizationId,
      input: typeof CreateTag.Type
    ) {
      const row = yield* changes.createRow({
        organizationId,
        resourceType: "tag",
        action: "tag.create",
        insert: repository.create({ organizationId, name: input.name, color: input.color ?? null })
      })
      return yield* decode(row)
    })

    const update = Effect.fn("Tags.update")(function* (
      organizationId: OrganizationId,
      id: TagId,
      input: typeof UpdateTag.Type
    ) {
      const columns = patchColumns(input)
      const row = yield* changes.changeRow({
        organizationId,
        resourceType: "tag",
        resourceId: id,
        action: "tag.update",
        lock: repository.lock(organizationId, id),
        apply: (): Effect.Effect<ReadonlyArray<TagRow>, SqlError> =>
          Object.keys(columns).length === 0 ? Effect.succeed([]) : repository.update(id, columns)
      })
      return yield* decode(row)
    })

    const remove = Effect.fn("Tags.remove")(function* (organizationId: OrganizationId, id: TagId) {
      yield* changes.transact(
        Effect.gen(function* () {
          const before = yield* repository.remove(organizationId, id)
          if (before === undefined) return yield* changes.notFound("tag", id)
          yield* changes.record({
            organizationId,
            action: "tag.delete",
            resourceType: "tag",
            resourceId: id,
            oldValues: before
          })
        })
      )
    })

    return { list, create, update, remove } as const
  }),
  dependencies: [TagRepository.Default]
}) {}
