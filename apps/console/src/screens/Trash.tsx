import { BandId, CampaignId, EventId, OrganizationId } from "@tapline/domain"
import { type DateTime, Option } from "effect"
import { call } from "../api.js"
import { can, useSession } from "../session.js"
import { ConfirmButton } from "../ui/ConfirmButton.js"
import { when } from "../ui/format.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useLoad } from "../ui/useLoad.js"

interface Trashed {
  readonly id: string
  readonly name: string
  readonly deletedAt: Option.Option<DateTime.Utc>
}

/** What a purge takes with it, per kind: said in the confirmation before it happens. */
const PURGE_TAKES = {
  event: "Its windows and bands go with it; its taps stay counted in analytics.",
  band: "Its registrant goes with it; its taps stay counted in analytics.",
  campaign: "Its events stay, in no campaign."
} as const

type Kind = keyof typeof PURGE_TAKES

const purge = { purge: true } as const

/** Restoring and purging, per kind, through each kind's own endpoints. */
const trashChanges = (
  organizationId: OrganizationId
): Record<
  Kind,
  { readonly restore: (id: string) => Promise<unknown>; readonly purge: (id: string) => Promise<unknown> }
> => ({
  event: {
    restore: (id) => call((c) => c.events.restore({ path: { organizationId, eventId: EventId.make(id) } })),
    purge: (id) =>
      call((c) => c.events.delete({ path: { organizationId, eventId: EventId.make(id) }, urlParams: purge }))
  },
  band: {
    restore: (id) => call((c) => c.bands.restore({ path: { organizationId, bandId: BandId.make(id) } })),
    purge: (id) =>
      call((c) => c.bands.delete({ path: { organizationId, bandId: BandId.make(id) }, urlParams: purge }))
  },
  campaign: {
    restore: (id) =>
      call((c) => c.campaigns.restore({ path: { organizationId, campaignId: CampaignId.make(id) } })),
    purge: (id) =>
      call((c) =>
        c.campaigns.delete({ path: { organizationId, campaignId: CampaignId.make(id) }, urlParams: purge })
      )
  }
})

/**
 * The organisation's trash: deleted events, bands and campaigns. An EDITOR restores them; only an OWNER
 * deletes them for good, after a confirmation that says so. Everyone else reads.
 */
export const Trash = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const deleted = { limit: 200, deleted: true } as const
  const events = useLoad(
    () => call((c) => c.events.list({ path: { organizationId }, urlParams: deleted })),
    [organizationId]
  )
  const bands = useLoad(
    () =>
      call((c) =>
        c.bands.list({ path: { organizationId }, urlParams: { ...deleted, sort: "created", order: "asc" } })
      ),
    [organizationId]
  )
  const campaigns = useLoad(
    () => call((c) => c.campaigns.list({ path: { organizationId }, urlParams: deleted })),
    [organizationId]
  )
  const { error, run } = useAction()
  const changes = trashChanges(organizationId)
  const reloadOf = (kind: Kind) =>
    kind === "event" ? events.reload : kind === "band" ? bands.reload : campaigns.reload

  const section = (kind: Kind, title: string, items: ReadonlyArray<Trashed> | undefined) => (
    <TrashSection
      kind={kind}
      title={title}
      items={items}
      onRestore={can(session, "EDITOR") ? (id) => run(() => changes[kind].restore(id), reloadOf(kind)) : null}
      onPurge={can(session, "OWNER") ? (id) => run(() => changes[kind].purge(id), reloadOf(kind)) : null}
    />
  )

  return (
    <section aria-labelledby="trash-heading">
      <h1 id="trash-heading">Trash</h1>
      <p className="muted">
        Deleted events, bands and campaigns wait here until restored or deleted for good (owners only).
      </p>
      <ErrorNotice error={error ?? events.error ?? bands.error ?? campaigns.error} />
      {section("event", "Events", events.data?.items)}
      {section(
        "band",
        "Bands",
        bands.data?.items.map((band) => ({ id: band.id, name: band.bandUid, deletedAt: band.deletedAt }))
      )}
      {section("campaign", "Campaigns", campaigns.data?.items)}
    </section>
  )
}

const TrashSection = ({
  kind,
  title,
  items,
  onRestore,
  onPurge
}: {
  readonly kind: Kind
  readonly title: string
  readonly items: ReadonlyArray<Trashed> | undefined
  /** Null: the caller's role may not. */
  readonly onRestore: ((id: string) => void) | null
  readonly onPurge: ((id: string) => void) | null
}) => (
  <section aria-label={`${title} in the trash`}>
    <h2>{title}</h2>
    {items === undefined ? (
      <Loading what={title.toLowerCase()} />
    ) : items.length === 0 ? (
      <p>No {title.toLowerCase()} in the trash.</p>
    ) : (
      <div className="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">{title.slice(0, -1)}</th>
              <th scope="col">Deleted (UTC)</th>
              {(onRestore !== null || onPurge !== null) && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.id}>
                <td>{item.name}</td>
                <td>{when(Option.getOrNull(item.deletedAt))}</td>
                {(onRestore !== null || onPurge !== null) && (
                  <td className="actions">
                    {onRestore !== null && (
                      <button
                        type="button"
                        aria-label={`Restore ${item.name}`}
                        onClick={() => onRestore(item.id)}
                      >
                        Restore
                      </button>
                    )}
                    {onPurge !== null && (
                      <ConfirmButton
                        label="Delete for good"
                        className="danger"
                        ariaLabel={`Delete ${item.name} for good`}
                        question={`Delete the ${kind} "${item.name}" for good?`}
                        consequence={`This cannot be undone. ${PURGE_TAKES[kind]}`}
                        onConfirm={() => onPurge(item.id)}
                      />
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </section>
)
