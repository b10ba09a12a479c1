import { OrganizationId, RegistrantId } from "@tapline/domain"
import { useState } from "react"
import { call, endpointUrl } from "../api.js"
import { BASE, Link, navigate } from "../router.js"
import { can, useSession } from "../session.js"
import { ConfirmButton } from "../ui/ConfirmButton.js"
import { ErrorNotice, Loading, ReadOnly } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useLoad } from "../ui/useLoad.js"
import { AttendeeForm, at, CHANNEL_LABEL, CHANNELS, changed } from "./AttendeeForm.js"

const SOURCE: Record<string, string> = {
  import: "imported",
  api: "console or API",
  broker: "broker",
  page: "registration page",
  unsubscribe: "unsubscribe link",
  sms: "texted STOP or START",
  migrated: "migrated"
}

const DEVICE_KIND: Record<string, string> = {
  webpush: "Browser (Web Push)",
  fcm: "Android app (FCM)",
  apns: "Apple app (APNs)"
}

/**
 * One registrant: their details, their consent per channel as it stands and how it came to be (when, from where,
 * the text shown), an edit (EDITOR), the export of everything held about them, and erasure (OWNER).
 */
export const AttendeeDetail = ({ registrantId: id }: { readonly registrantId: string }) => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const registrantId = RegistrantId.make(id)
  const editable = can(session, "EDITOR")
  const [editing, setEditing] = useState(0)
  const [open, setOpen] = useState(false)
  const registrant = useLoad(
    () =>
      editable
        ? call((c) => c.registrants.get({ path: { organizationId, registrantId } }))
        : Promise.resolve(null),
    [organizationId, registrantId, editable]
  )
  // The consent history is part of the export (the registrant itself carries the latest per channel).
  const history = useLoad(
    () =>
      editable
        ? call((c) => c.registrants.export({ path: { organizationId, registrantId } })).then(
            (doc) => doc.consentHistory
          )
        : Promise.resolve([]),
    [organizationId, registrantId, editable, registrant.data]
  )
  // Their push devices (an app's token, or a browser subscribed from the registration page).
  const devices = useLoad(
    () =>
      editable
        ? call((c) => c.pushSubscriptions.list({ path: { organizationId, registrantId } })).then(
            (answer) => answer.items
          )
        : Promise.resolve([]),
    [organizationId, registrantId, editable, registrant.data]
  )
  const { error, run } = useAction()

  const back = (
    <p>
      <Link to={`${BASE}/attendees`}>← Attendees</Link>
    </p>
  )
  if (!editable)
    return (
      <>
        {back}
        <ReadOnly>Attendees' names, addresses and consent are for editors and owners.</ReadOnly>
      </>
    )
  if (registrant.data === null)
    return registrant.error === null ? (
      <Loading what="the attendee" />
    ) : (
      <>
        {back}
        <ErrorNotice error={registrant.error} />
      </>
    )
  const r = registrant.data
  const title = r.name ?? r.email ?? r.bandUid
  return (
    <>
      {back}
      <section aria-labelledby="attendee-heading">
        <h1 id="attendee-heading">{title}</h1>
        <ErrorNotice error={error ?? history.error} />
        <dl className="detail" aria-label="Details">
          <dt>Email</dt>
          <dd data-testid="attendee-email">{r.email ?? "—"}</dd>
          <dt>Phone</dt>
          <dd data-testid="attendee-phone">{r.phone ?? "—"}</dd>
          <dt>Language</dt>
          <dd>{r.locale ?? "—"}</dd>
          <dt>Band</dt>
          <dd>
            <code>{r.bandUid}</code>
          </dd>
          <dt>Added</dt>
          <dd>
            {at(r.createdAt)} ({SOURCE[r.source] ?? r.source})
          </dd>
        </dl>
        <p className="actions">
          <button type="button" className="quiet" aria-expanded={open} onClick={() => setOpen(!open)}>
            Edit
          </button>
          <a
            className="button quiet"
            href={endpointUrl("registrants", "export", { organizationId, registrantId })}
            download={`attendee-${r.bandUid}.json`}
          >
            Export
          </a>
          {can(session, "OWNER") && (
            <ConfirmButton
              label="Erase"
              className="quiet"
              question={`Erase ${title}?`}
              consequence={
                "Their name, email, phone and consent history are deleted for good. The band, its taps and " +
                "every count stay; the band is no longer anyone's."
              }
              confirm="Erase for good"
              onConfirm={() =>
                run(
                  () => call((c) => c.registrants.erase({ path: { organizationId, registrantId } })),
                  () => navigate(`${BASE}/attendees`)
                )
              }
            />
          )}
        </p>
        {open && (
          <AttendeeForm
            key={editing}
            idPrefix="attendee-edit"
            label="Edit attendee"
            submitLabel="Save attendee"
            initial={{
              name: r.name ?? "",
              email: r.email ?? "",
              phone: r.phone ?? "",
              locale: r.locale ?? ""
            }}
            onSubmit={(values, consents) =>
              call((c) =>
                c.registrants.update({
                  path: { organizationId, registrantId },
                  payload: {
                    name: changed(values.name, r.name),
                    // Typed as it is: the client's own encoding refuses a malformed address by its field.
                    email: changed(values.email, r.email) as never,
                    phone: changed(values.phone, r.phone),
                    locale: changed(values.locale, r.locale),
                    ...(consents.length === 0 ? {} : { consents })
                  }
                })
              )
            }
            onSaved={() => {
              setOpen(false)
              setEditing((n) => n + 1)
              registrant.reload()
            }}
          />
        )}
      </section>
      <section aria-labelledby="consent-heading">
        <h2 id="consent-heading">Consent</h2>
        <div className="scroll">
          <table aria-label="Consent per channel" className="stack">
            <thead>
              <tr>
                <th scope="col">Channel</th>
                <th scope="col">State</th>
                <th scope="col">Since</th>
                <th scope="col">How</th>
                <th scope="col">Text shown</th>
              </tr>
            </thead>
            <tbody>
              {CHANNELS.map((channel) => {
                const consent = r.consents.find((c) => c.channel === channel)
                return (
                  <tr key={channel} data-channel={channel}>
                    <th scope="row">{CHANNEL_LABEL[channel]}</th>
                    <td data-label="State" data-testid={`consent-${channel}`}>
                      {consent === undefined ? "never asked" : consent.granted ? "given" : "withdrawn"}
                    </td>
                    <td data-label="Since">{at(consent?.at ?? null)}</td>
                    <td data-label="How">
                      {consent === undefined ? "—" : (SOURCE[consent.source] ?? consent.source)}
                    </td>
                    <td data-label="Text shown">{consent?.wording ?? "—"}</td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
        <h3>History</h3>
        {history.data === null ? (
          <Loading what="the consent history" />
        ) : history.data.length === 0 ? (
          <p>No consent recorded.</p>
        ) : (
          <div className="scroll">
            <table aria-label="Consent history" className="stack">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Channel</th>
                  <th scope="col">Choice</th>
                  <th scope="col">How</th>
                  <th scope="col">Text shown</th>
                </tr>
              </thead>
              <tbody>
                {history.data.map((c) => (
                  <tr key={`${c.channel}-${c.recordedAt.toISOString()}-${c.at.toISOString()}`}>
                    <td data-label="When">{at(c.at)}</td>
                    <td data-label="Channel">{CHANNEL_LABEL[c.channel]}</td>
                    <td data-label="Choice">{c.granted ? "given" : "withdrawn"}</td>
                    <td data-label="How">{SOURCE[c.source] ?? c.source}</td>
                    <td data-label="Text shown">{c.wording ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="devices-heading">
        <h2 id="devices-heading">Push devices</h2>
        {devices.data === null ? (
          <Loading what="the push devices" />
        ) : devices.data.length === 0 ? (
          <p data-testid="push-devices">No push device.</p>
        ) : (
          <div className="scroll">
            <table aria-label="Push devices" className="stack" data-testid="push-devices">
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">Added</th>
                  <th scope="col">Last sent</th>
                </tr>
              </thead>
              <tbody>
                {devices.data.map((d) => (
                  <tr key={d.id}>
                    <td data-label="Kind">{DEVICE_KIND[d.kind]}</td>
                    <td data-label="Added">{at(d.createdAt)}</td>
                    <td data-label="Last sent">{at(d.lastSentAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  )
}
