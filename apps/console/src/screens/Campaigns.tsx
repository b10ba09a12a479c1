import { type Campaign, type CampaignId, OrganizationId } from "@tapline/domain"
import { Option } from "effect"
import { useState } from "react"
import { call } from "../api.js"
import { can, useSession } from "../session.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useLoad } from "../ui/useLoad.js"
import { CampaignDetail } from "./CampaignDetail.js"
import { CampaignForm } from "./CampaignForm.js"

/** `2026-06-01 – 2026-08-31`, one side, or a dash. */
export const campaignDays = (campaign: typeof Campaign.json.Type) => {
  const starts = Option.getOrNull(campaign.startsOn)
  const ends = Option.getOrNull(campaign.endsOn)
  return starts === null && ends === null ? "—" : `${starts ?? "…"} – ${ends ?? "…"}`
}

/** The organisation's campaigns (groupings of events, such as a tour), and (EDITOR) new ones. */
export const Campaigns = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const campaigns = useLoad(
    () =>
      call((c) => c.campaigns.list({ path: { organizationId }, urlParams: { limit: 200, deleted: false } })),
    [organizationId]
  )
  const [selected, setSelected] = useState<CampaignId | null>(null)
  const [created, setCreated] = useState(0)
  const chosen = campaigns.data?.items.find((c) => c.id === selected)

  return (
    <section aria-labelledby="campaigns-heading">
      <h1 id="campaigns-heading">Campaigns</h1>
      <ErrorNotice error={campaigns.error} />
      {can(session, "EDITOR") && (
        <CampaignForm
          key={created}
          idPrefix="campaign"
          label="New campaign"
          submitLabel="Create campaign"
          initial={{ name: "", status: "DRAFT", startsOn: null, endsOn: null }}
          onSubmit={(values) =>
            call((c) =>
              c.campaigns.create({
                path: { organizationId },
                payload: {
                  name: values.name,
                  status: values.status,
                  ...(values.startsOn === null ? {} : { startsOn: values.startsOn }),
                  ...(values.endsOn === null ? {} : { endsOn: values.endsOn })
                }
              })
            ).then((campaign) => setSelected(campaign.id))
          }
          onSaved={() => {
            setCreated((n) => n + 1)
            campaigns.reload()
          }}
        />
      )}
      {campaigns.data === null ? (
        <Loading what="campaigns" />
      ) : campaigns.data.items.length === 0 ? (
        <p>No campaigns yet.</p>
      ) : (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Campaign</th>
                <th scope="col">Status</th>
                <th scope="col">Days</th>
              </tr>
            </thead>
            <tbody>
              {campaigns.data.items.map((campaign) => (
                <tr key={campaign.id} aria-selected={campaign.id === selected}>
                  <td>
                    <button type="button" className="link" onClick={() => setSelected(campaign.id)}>
                      {campaign.name}
                    </button>
                  </td>
                  <td>{campaign.status}</td>
                  <td>{campaignDays(campaign)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {chosen !== undefined && (
        <CampaignDetail
          key={chosen.id}
          organizationId={organizationId}
          campaign={chosen}
          onChanged={campaigns.reload}
          onDeleted={() => {
            setSelected(null)
            campaigns.reload()
          }}
        />
      )}
    </section>
  )
}
