import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import type { OrganizationId } from "@tapline/domain"
import { Context, Effect, Exit, Layer } from "effect"
import { ChangeHooks, Changes } from "../src/Admin/Changes.js"
import { Audit } from "../src/Audit/Audit.js"
import { Campaigns } from "../src/Campaigns/Campaigns.js"
import { Tags } from "../src/Tags/Tags.js"
import { Users } from "../src/Users/Users.js"
import { serviceHarness } from "./support/ServiceHarness.js"

/*
 * Issue 13: the rules the feature services hold, tested on the services themselves (a real database, the
 * in-memory backends, no HTTP): one unit of work for every change, and one way users come to exist.
 */

const auditOf = (resourceId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{
      action: string
      oldValues: unknown
      newValues: unknown
      actorType: string
      actorId: string | null
    }>`
      select action, old_values, new_values, actor_type, actor_id from audit_log
      where resource_id = ${resourceId} order by occurred_at, id`
  )

const organization = Effect.flatMap(SqlClient.SqlClient, (sql) => {
  const slug = `svc-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  return sql<{
    id: OrganizationId
  }>`insert into organizations (slug, name) values (${slug}, ${slug}) returning id`
}).pipe(Effect.map((rows) => rows[0]!.id))

/** Campaigns over a Changes built with these change hooks, as the runtime builds it with the webhook outbox. */
const campaignsWith = (hooks: typeof ChangeHooks.Service) =>
  Layer.build(
    Campaigns.Default.pipe(Layer.provide(Changes.Default), Layer.provide(Layer.succeed(ChangeHooks, hooks)))
  ).pipe(Effect.map(Context.get(Campaigns)))

const services = Layer.mergeAll(Campaigns.Default, Tags.Default, Users.Default).pipe(
  Layer.provideMerge(Audit.Default),
  Layer.provideMerge(serviceHarness)
)

describe("feature services", () => {
  layer(services, { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.effect(
      "a campaign change is audited with the row before and after; an empty PATCH records nothing",
      () =>
        Effect.gen(function* () {
          const campaigns = yield* Campaigns
          const org = yield* organization
          const created = yield* campaigns.create(org, { name: "Tour", status: "DRAFT" })
          const unchanged = yield* campaigns.update(org, created.id, {})
          expect(unchanged.name).toBe("Tour")
          const renamed = yield* campaigns.update(org, created.id, { name: "World tour" })
          expect(renamed.name).toBe("World tour")
          const audit = yield* auditOf(created.id)
          expect(audit.map((row) => row.action)).toEqual(["campaign.create", "campaign.update"])
          expect(audit[1]).toMatchObject({ oldValues: { name: "Tour" }, newValues: { name: "World tour" } })
        })
    )

    it.effect("another organisation's campaign is not found, for reads and changes alike", () =>
      Effect.gen(function* () {
        const campaigns = yield* Campaigns
        const [mine, theirs] = [yield* organization, yield* organization]
        const created = yield* campaigns.create(theirs, { name: "Theirs", status: "ACTIVE" })
        for (const attempt of [
          campaigns.get(mine, created.id),
          campaigns.update(mine, created.id, { name: "Mine now" }),
          campaigns.remove(mine, created.id)
        ]) {
          const exit = yield* Effect.exit(attempt)
          expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("NotFound")
        }
        expect((yield* campaigns.get(theirs, created.id)).name).toBe("Theirs")
        const trash = yield* Effect.exit(campaigns.restore(theirs, created.id))
        expect(Exit.isFailure(trash)).toBe(true)
        yield* campaigns.remove(theirs, created.id)
        expect((yield* campaigns.restore(theirs, created.id)).name).toBe("Theirs")
        expect((yield* auditOf(created.id)).map((row) => row.action)).toEqual([
          "campaign.create",
          "campaign.delete",
          "campaign.restore"
        ])
      })
    )

    it.scoped("change hooks see every change inside its transaction: a failing hook undoes the change", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const org = yield* organization
        const seen: Array<string> = []
        const hooks = [(change: { action: string }) => Effect.sync(() => void seen.push(change.action))]
        yield* Effect.flatMap(campaignsWith(hooks), (campaigns) =>
          campaigns.create(org, { name: "Heard", status: "DRAFT" })
        )
        expect(seen).toEqual(["campaign.create"])

        const failing = [() => Effect.die(new Error("outbox unavailable"))]
        const exit = yield* Effect.exit(
          Effect.flatMap(campaignsWith(failing), (campaigns) =>
            campaigns.create(org, { name: "Never", status: "DRAFT" })
          )
        )
        expect(Exit.isFailure(exit)).toBe(true)
        const names = yield* sql<{ name: string }>`select name from campaigns where organization_id = ${org}`
        expect(names.map((row) => row.name)).toEqual(["Heard"])
      })
    )

    it.effect("tags: a change is audited only when it changes something, and stays in its organisation", () =>
      Effect.gen(function* () {
        const tags = yield* Tags
        const [mine, theirs] = [yield* organization, yield* organization]
        const vip = yield* tags.create(mine, { name: "VIP", color: "#aa0000" })
        expect((yield* tags.update(mine, vip.id, {})).name).toBe("VIP")
        expect((yield* tags.update(mine, vip.id, { name: "Guest" })).name).toBe("Guest")
        for (const attempt of [tags.update(theirs, vip.id, { name: "Taken" }), tags.remove(theirs, vip.id)]) {
          expect(JSON.stringify(yield* Effect.flip(attempt))).toContain("NotFound")
        }
        expect((yield* tags.list(theirs, { limit: 10 })).items).toEqual([])
        yield* tags.remove(mine, vip.id)
        expect((yield* tags.list(mine, { limit: 10 })).items).toEqual([])
        expect((yield* auditOf(vip.id)).map((row) => row.action)).toEqual([
          "tag.create",
          "tag.update",
          "tag.delete"
        ])
      })
    )

    it.effect("a user is created once per email whatever its case, audited once; admin promotes", () =>
      Effect.gen(function* () {
        const users = yield* Users
        const email = `Grace.${process.pid}.${Date.now()}@Example.test`
        const first = yield* users.ensure({ email, name: "Grace" }, { actorIsNewUser: true })
        const again = yield* users.ensure({ email: email.toLowerCase() })
        expect(first.created).toBe(true)
        expect(again).toEqual({ id: first.id, created: false })
        const promoted = yield* users.ensure({ email: email.toUpperCase(), admin: true })
        expect(promoted).toEqual({ id: first.id, created: false })
        const sql = yield* SqlClient.SqlClient
        const [row] = yield* sql<{ platformRole: string; name: string }>`
          select platform_role, name from users where id = ${first.id}`
        expect(row).toEqual({ platformRole: "ADMIN", name: "Grace" })
        const audit = yield* auditOf(first.id)
        expect(audit).toMatchObject([{ action: "user.create", actorType: "user", actorId: first.id }])
      })
    )
  })
})
