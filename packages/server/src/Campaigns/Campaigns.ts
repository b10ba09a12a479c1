import type { SqlError } from "@effect/sql/SqlError"
import {
  Campaign,
  type CampaignId,
  type CampaignStatus,
  type CreateCampaign,
  type OrganizationId,
  type UpdateCampaign
} from "@tapline/domain"
import { Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { patchColumns } from "../Admin/Patch.js"
import { EventRepository } from "../Events/EventRepository.js"
import { CampaignRepository, type CampaignRow } from "./CampaignRepository.js"

const decode = (row: CampaignRow) => Effect.orDie(Schema.decodeUnknown(Campaign)(row))

/** Campaigns of an organisation: optional groupings of events (a tour). Authorisation is the caller's. */
export class Campaigns extends Effect.Service<Campaigns>()("@tapline/server/Campaigns", {
  effect: Effect.gen(function* () {
    const repository = yield* CampaignRepository
    const events = yield* EventRepository
    const changes = yield* Changes

    const list = Effect.fn("Campaigns.list")(function* (
      organizationId: OrganizationId,
      request: PageRequest<{ readonly deleted: boolean; readonly status?: CampaignStatus | undefined }>
    ) {
      return yield* listPage(
        request,
        (query) => repository.list(organizationId, query),
        decode,
        (c) => c.id
      )
    })

    const get = Effect.fn("Campaigns.get")(function* (organizationId: OrganizationId, id: CampaignId) {
      return yield* decode(yield* changes.found("campaign", id, repository.find(organizationId, id)))
    })

    const create = Effect.fn("Campaigns.create")(function* (
      organizationId: OrganizationId,
      input: typeof CreateCampaign.Type
    ) {
      const row = yield* changes.createRow({
        organizationId,
        resourceType: "campaign",
        action: "campaign.create",
        insert: repository.insert({
          organizationId,
          name: input.name,
          status: input.status,
          startsOn: input.startsOn ?? null,
          endsOn: input.endsOn ?? null
        })
      })
      return yield* decode(row)
    })

    /** One row changed in the unit of work; `deleted` finds the row in the trash (to restore it). */
    const change = (
      organizationId: OrganizationId,
      id: CampaignId,
      action: string,
      apply: (before: CampaignRow) => Effect.Effect<ReadonlyArray<CampaignRow>, SqlError>,
      options: { readonly deleted?: boolean } = {}
    ) =>
      changes
        .changeRow({
          organizationId,
          resourceType: "campaign",
          resourceId: id,
          action,
          lock: repository.find(organizationId, id, { ...options, lock: true }),
          apply
        })
        .pipe(Effect.flatMap(decode))

    const update = Effect.fn("Campaigns.update")(function* (
      organizationId: OrganizationId,
      id: CampaignId,
      input: typeof UpdateCampaign.Type
    ) {
      const columns = patchColumns(input)
      return yield* change(organizationId, id, "campaign.update", () =>
        Object.keys(columns).length === 0 ? Effect.succeed([]) : repository.update(id, columns)
      )
    })

    const remove = Effect.fn("Campaigns.remove")(function* (organizationId: OrganizationId, id: CampaignId) {
      yield* change(organizationId, id, "campaign.delete", () => repository.setDeleted(id, true))
    })

    const restore = Effect.fn("Campaigns.restore")(function* (
      organizationId: OrganizationId,
      id: CampaignId
    ) {
      return yield* change(organizationId, id, "campaign.restore", () => repository.setDeleted(id, false), {
        deleted: true
      })
    })

    /**
     * Deletes a campaign of the trash for good. Its events (live or in the trash) stay, unlinked: a
     * campaign is only a grouping, and its events' taps and analytics matter more than the grouping did.
     */
    const purge = Effect.fn("Campaigns.purge")(function* (organizationId: OrganizationId, id: CampaignId) {
      yield* changes.purgeRow({
        organizationId,
        resourceType: "campaign",
        resourceId: id,
        action: "campaign.purge",
        lock: repository.find(organizationId, id, { deleted: true, lock: true }),
        live: Effect.map(repository.find(organizationId, id), (row) => row !== undefined),
        purge: () =>
          Effect.gen(function* () {
            const unlinkedEventIds = yield* events.unlinkCampaign(organizationId, id)
            yield* repository.purge(id)
            return { unlinkedEventIds }
          })
      })
      // Unlinking events changed them: the read model's version moved with them.
      yield* changes.project(organizationId)
    })

    return { list, get, create, update, remove, restore, purge } as const
  }),
  dependencies: [CampaignRepository.Default, EventRepository.Default]
}) {}
