import { type Campaign, EventId, type OrganizationId } from "@tapline/domain"
import { Option } from "effect"
import { useState } from "react"
import { call } from "../api.js"
import { BASE, Link } from "../router.js"
import { can, useSession } from "../session.js"
import { ConfirmButton } from "../ui/ConfirmButton.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useEvents, useLoad } from "../ui/useLoad.js"
import { CampaignForm } from "./CampaignForm.js"
import { StatusBadge } from "./Events.js"

/**
 * One campaign: its details (EDITOR edits them), its events, and (EDITOR) events added or taken out through
 * each event's campaign, and the campaign moved to the trash.
 */
export const CampaignDetail = ({
  organizationId,
  campaign,
  onChanged,
  onDeleted
}: {
  readonly organizationId: OrganizationId
  readonly campaign: typeof Campaign.json.Type
  readonly onChanged: () => void
  readonly onDeleted: () => void
}) => {
  const session = useSession()
  const editor = can(session, "EDITOR")
  const campaignId = campaign.id
  const inCampaign = useLoad(
    () =>
      call((c) =>
        c.events.list({ path: { organizationId }, urlParams: { limit: 500, campaignId, deleted: false } })
      ),
    [organizationId, campaignId]
  )
  const all = useEvents(organizationId)
  const [adding, setAdding] = useState("")
  const { error, run } = useAction()
  const others = (all.data?.items ?? []).filter((e) => Option.getOrNull(e.campaignId) !== campaignId)

  /** Puts an event in this campaign, or (null) in none. */
  const assign = (eventId: string, to: typeof campaignId | null) =>
    run(
      () =>
        call((c) =>
          c.events.update({
            path: { organizationId, eventId: EventId.make(eventId) },
            payload: { campaignId: to }
          })
        ),
      () => {
        setAdding("")
        inCampaign.reload()
        all.reload()
      }
    )

  return (
    <section aria-label={`Campaign ${campaign.name}`} className="panel">
      <h2>{campaign.name}</h2>
      <ErrorNotice error={error ?? inCampaign.error ?? all.error} />
      {editor && (
        <CampaignForm
          idPrefix="campaign-edit"
          label="Edit the campaign"
          submitLabel="Save campaign"
          initial={{
            name: campaign.name,
            status: campaign.status,
            startsOn: Option.getOrNull(campaign.startsOn),
            endsOn: Option.getOrNull(campaign.endsOn)
          }}
          onSubmit={(values) =>
            call((c) => c.campaigns.update({ path: { organizationId, campaignId }, payload: values }))
          }
          onSaved={onChanged}
        />
      )}
      <h3>Events</h3>
      {inCampaign.data === null ? (
        <Loading what="the campaign's events" />
      ) : inCampaign.data.items.length === 0 ? (
        <p>No events in this campaign yet.</p>
      ) : (
        <table aria-label="Events of the campaign">
          <tbody>
            {inCampaign.data.items.map((event) => (
              <tr key={event.id}>
                <td>
                  <Link to={`${BASE}/events/${event.id}`}>{event.name}</Link>
                </td>
                <td>
                  <StatusBadge status={event.status} />
                </td>
                {editor && (
                  <td>
                    <button
                      type="button"
                      className="quiet"
                      aria-label={`Remove ${event.name} from the campaign`}
                      onClick={() => assign(event.id, null)}
                    >
                      Remove
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editor && others.length > 0 && (
        <div className="inline">
          <label>
            Add an event{" "}
            <select value={adding} onChange={(e) => setAdding(e.target.value)}>
              <option value="">Choose an event…</option>
              {others.map((event) => (
                <option key={event.id} value={event.id}>
                  {event.name}
                </option>
              ))}
            </select>
          </label>{" "}
          <button type="button" disabled={adding === ""} onClick={() => assign(adding, campaignId)}>
            Add to campaign
          </button>
        </div>
      )}
      {editor && (
        <p>
          <ConfirmButton
            label="Delete campaign"
            className="danger"
            question={`Delete the campaign "${campaign.name}"?`}
            consequence="It moves to the trash; its events stay as they are. An editor can restore it from Trash."
            confirm="Move to the trash"
            onConfirm={() =>
              run(
                () =>
                  call((c) =>
                    c.campaigns.delete({ path: { organizationId, campaignId }, urlParams: { purge: false } })
                  ),
                onDeleted
              )
            }
          />
        </p>
      )}
    </section>
  )
}
