import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { type NewPushSubscription, PushSubscriptionView, type RegistrantId } from "@tapline/domain"
import { Effect, Schema } from "effect"
import { rowsOrDie } from "../Database/Rows.js"

/** A device row as PostgreSQL returns it (the driver's dates). */
const DeviceRow = Schema.Struct({
  ...PushSubscriptionView.fields,
  createdAt: Schema.DateFromSelf,
  lastSentAt: Schema.NullOr(Schema.DateFromSelf)
})

const columns = "id, organization_id, registrant_id, kind, address, created_at, last_sent_at"

/**
 * A registrant's devices at most: a person's phones, tablets and browsers. Past it the oldest goes, so a flood
 * through one page token (or the API) keeps the table and each push's fan-out (one paced send per device,
 * from the provider rate every organisation shares) bounded, while a person's new device always gets in.
 */
export const MAX_DEVICES_PER_REGISTRANT = 10

/**
 * The API's and the page's SQL on `registrant_push_subscriptions` (the sender reads and prunes them through
 * JourneyMessageRepository). Every statement names the registrant, and through it the organisation.
 */
export class PushSubscriptionRepository extends Effect.Service<PushSubscriptionRepository>()(
  "@tapline/server/PushSubscriptionRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const list = (registrantId: RegistrantId) =>
        rowsOrDie(
          SqlSchema.findAll({
            Request: Schema.String,
            Result: DeviceRow,
            execute: (id) => sql`
              select ${sql.unsafe(columns)} from registrant_push_subscriptions
              where registrant_id = ${id} order by created_at, id`
          })(registrantId)
        )

      /**
       * Adds a device, or answers the one already there (the same endpoint or token again: a browser that
       * subscribes again gets the same endpoint, perhaps new keys, which replace the old).
       */
      const upsert = (organizationId: string, registrantId: RegistrantId, device: NewPushSubscription) =>
        rowsOrDie(
          SqlSchema.single({
            Request: Schema.Void,
            Result: DeviceRow,
            execute: () => {
              const row =
                device.kind === "webpush"
                  ? { address: device.endpoint, p256dh: device.keys.p256dh, auth: device.keys.auth }
                  : { address: device.token, p256dh: null, auth: null }
              return sql`
                insert into registrant_push_subscriptions ${sql.insert({
                  organizationId,
                  registrantId,
                  kind: device.kind,
                  ...row
                })}
                on conflict (registrant_id, kind, address)
                  do update set p256dh = excluded.p256dh, auth = excluded.auth
                returning ${sql.unsafe(columns)}`
            }
          })(undefined)
        )

      /**
       * The registrant's devices past MAX_DEVICES_PER_REGISTRANT, oldest first, removed (never `keep`, the one
       * just added); answers their ids. The caller holds the registrant's lock, so adds do not race past it.
       */
      const trim = (registrantId: RegistrantId, keep: string) =>
        Effect.map(
          sql<{ id: string }>`
            delete from registrant_push_subscriptions where id in (
              select id from registrant_push_subscriptions
              where registrant_id = ${registrantId} and id <> ${keep}
              order by created_at desc, id desc
              offset ${MAX_DEVICES_PER_REGISTRANT - 1})
            returning id`,
          (rows) => rows.map((row) => row.id)
        )

      /** Whether the registrant had that device. */
      const remove = (registrantId: RegistrantId, id: string) =>
        Effect.map(
          sql`delete from registrant_push_subscriptions where id = ${id} and registrant_id = ${registrantId}
            returning id`,
          (rows) => rows.length > 0
        )

      return { list, upsert, trim, remove } as const
    })
  }
) {}
