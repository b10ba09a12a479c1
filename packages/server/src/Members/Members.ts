import {
  type AddMember,
  Conflict,
  Member,
  type MemberRole,
  type OrganizationId,
  type UserId
} from "@tapline/domain"
import { Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { Users } from "../Users/Users.js"
import { MemberRepository, type MemberRow } from "./MemberRepository.js"

const decode = (row: MemberRow) =>
  Effect.orDie(
    Schema.decodeUnknown(Schema.Struct({ ...Member.fields, createdAt: Schema.DateTimeUtcFromDate }))(row)
  )

/** Who belongs to an organisation, and with which role. An organisation always keeps an OWNER. */
export class Members extends Effect.Service<Members>()("@tapline/server/Members", {
  effect: Effect.gen(function* () {
    const repository = yield* MemberRepository
    const changes = yield* Changes
    const users = yield* Users

    const find = (
      organizationId: OrganizationId,
      userId: UserId,
      options: { readonly lock?: boolean } = {}
    ) =>
      Effect.flatMap(
        changes.found("member", userId, repository.find(organizationId, userId, options)),
        decode
      )

    /** The last OWNER can be neither demoted nor removed. */
    const keepAnOwner = (organizationId: OrganizationId, userId: UserId, newRole: MemberRole | null) =>
      Effect.gen(function* () {
        if (newRole === "OWNER") return
        const owners = yield* repository.lockOwners(organizationId)
        if (owners.length === 1 && owners[0] === userId) {
          return yield* new Conflict({ message: "an organisation must keep at least one OWNER" })
        }
      })

    const list = Effect.fn("Members.list")(function* (organizationId: OrganizationId, request: PageRequest) {
      return yield* listPage(
        request,
        (query) => repository.list(organizationId, query),
        decode,
        (m) => m.userId
      )
    })

    /** Adds a person by email, creating their user when there is none. */
    const add = Effect.fn("Members.add")(function* (
      organizationId: OrganizationId,
      input: typeof AddMember.Type
    ) {
      return yield* changes.transact(
        Effect.gen(function* () {
          const { id: userId } = yield* users.ensure({ email: input.email })
          if (!(yield* repository.addIfAbsent({ userId, organizationId, role: input.role }))) {
            return yield* new Conflict({ message: "already a member" })
          }
          const added = yield* find(organizationId, userId)
          yield* changes.record({
            organizationId,
            action: "member.add",
            resourceType: "member",
            resourceId: userId,
            newValues: { email: added.email, role: added.role }
          })
          return added
        })
      )
    })

    const setRole = Effect.fn("Members.setRole")(function* (
      organizationId: OrganizationId,
      userId: UserId,
      role: MemberRole
    ) {
      return yield* changes.transact(
        Effect.gen(function* () {
          const before = yield* find(organizationId, userId, { lock: true })
          yield* keepAnOwner(organizationId, userId, role)
          yield* repository.setRole(organizationId, userId, role)
          yield* changes.record({
            organizationId,
            action: "member.update",
            resourceType: "member",
            resourceId: userId,
            oldValues: { role: before.role },
            newValues: { role }
          })
          return { ...before, role }
        })
      )
    })

    const remove = Effect.fn("Members.remove")(function* (organizationId: OrganizationId, userId: UserId) {
      yield* changes.transact(
        Effect.gen(function* () {
          const before = yield* find(organizationId, userId, { lock: true })
          yield* keepAnOwner(organizationId, userId, null)
          yield* repository.remove({ organizationId, userId })
          yield* changes.record({
            organizationId,
            action: "member.remove",
            resourceType: "member",
            resourceId: userId,
            oldValues: { email: before.email, role: before.role }
          })
        })
      )
    })

    return { list, add, setRole, remove } as const
  }),
  dependencies: [MemberRepository.Default]
}) {}
