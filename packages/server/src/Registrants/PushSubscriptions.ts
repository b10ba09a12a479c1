import {
  type NewPushSubscription,
  NotFound,
  type OrganizationId,
  type PushSubscriptionId,
  type PushSubscriptionView,
  type RegistrantId
} from "@tapline/domain"
import { Effect } from "effect"
import { Changes } from "../Admin/Changes.js"
import { PushSubscriptionRepository } from "./PushSubscriptionRepository.js"
import { RegistrantRepository } from "./RegistrantRepository.js"

/** What the audit keeps of a device: its kind and id, never the token or endpoint (they address the person). */
const audited = (device: PushSubscriptionView) => ({ subscriptionId: device.id, kind: device.kind })

/**
 * A registrant's push devices, for the API (an app's FCM or APNs token) and the hosted page (a Web Push
 * subscription, with the push consent the page asked for). Every change is audited on the registrant. A
 * registrant of another organisation is not found. Authorisation is the caller's.
 */
export class PushSubscriptions extends Effect.Service<PushSubscriptions>()(
  "@tapline/server/PushSubscriptions",
  {
    effect: Effect.gen(function* () {
      const repository = yield* PushSubscriptionRepository
      const registrants = yield* RegistrantRepository
      const changes = yield* Changes

      const found = (organizationId: OrganizationId, id: RegistrantId, lock = false) =>
        changes.found("registrant", id, registrants.find(organizationId, id, { lock }))

      const list = Effect.fn("PushSubscriptions.list")(function* (
        organizationId: OrganizationId,
        registrantId: RegistrantId
      ) {
        yield* found(organizationId, registrantId)
        return { items: yield* Effect.orDie(repository.list(registrantId)) }
      })

      /**
       * Adds the device (idempotent: the same one again is answered as it is); past MAX_DEVICES_PER_REGISTRANT
       * the oldest are removed (audited as `replaced`). From the page, the push consent
       * the person just gave is appended with it, in one transaction: a device without consent is never sent
       * to, and consent without a device has nothing to send to.
       */
      const add = Effect.fn("PushSubscriptions.add")(function* (
        organizationId: OrganizationId,
        registrantId: RegistrantId,
        device: NewPushSubscription,
        consent?: { readonly wording: string; readonly at: Date }
      ) {
        return yield* changes.transact(
          Effect.gen(function* () {
            yield* found(organizationId, registrantId, true)
            const row = yield* repository.upsert(organizationId, registrantId, device)
            const replaced = yield* Effect.orDie(repository.trim(registrantId, row.id))
            if (consent !== undefined)
              yield* registrants.appendConsents(registrantId, "page", [
                { channel: "push", granted: true, at: consent.at, wording: consent.wording }
              ])
            yield* changes.record({
              organizationId,
              action: "registrant.push_subscription.add",
              resourceType: "registrant",
              resourceId: registrantId,
              newValues: {
                ...audited(row),
                ...(consent === undefined ? {} : { consent: "push granted" }),
                ...(replaced.length === 0 ? {} : { replaced })
              }
            })
            return row
          })
        )
      })

      const remove = Effect.fn("PushSubscriptions.remove")(function* (
        organizationId: OrganizationId,
        registrantId: RegistrantId,
        id: PushSubscriptionId
      ) {
        yield* changes.transact(
          Effect.gen(function* () {
            yield* found(organizationId, registrantId, true)
            if (!(yield* repository.remove(registrantId, id)))
              return yield* new NotFound({ resource: "push subscription", id })
            yield* changes.record({
              organizationId,
              action: "registrant.push_subscription.delete",
              resourceType: "registrant",
              resourceId: registrantId,
              oldValues: { subscriptionId: id }
            })
          })
        )
      })

      return { list, add, remove } as const
    }),
    dependencies: [PushSubscriptionRepository.Default, RegistrantRepository.Default]
  }
) {}
