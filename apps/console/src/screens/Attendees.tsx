import {
  BandId,
  BandUid,
  type ConsentChannel,
  EventId,
  OrganizationId,
  type Registrant
} from "@tapline/domain"
import { Schema } from "effect"
import { useState } from "react"
import { call } from "../api.js"
import { BASE, Link, navigate } from "../router.js"
import { can, useSession } from "../session.js"
import { Field } from "../ui/Field.js"
import { ErrorNotice, Loading, ReadOnly } from "../ui/Notice.js"
import { EventSelect } from "../ui/Selects.js"
import { useEvents } from "../ui/useLoad.js"
import { usePaged } from "../ui/usePaged.js"
import { AttendeeForm, at, CHANNEL_LABEL, CHANNELS, given } from "./AttendeeForm.js"

const PAGE = 100

interface Filters {
  readonly eventId: string
  readonly q: string
  readonly consent: "" | ConsentChannel
}

/** The channels a registrant agreed to be written on, in words. */
export const consented = (registrant: Registrant) =>
  registrant.consents
    .filter((c) => c.granted)
    .map((c) => CHANNEL_LABEL[c.channel])
    .join(", ") || "—"

/**
 * The people the organisation's bands are registered to (personal data: EDITOR and OWNER; the API shows a
 * VIEWER none of it, so neither does this screen). Searched by name or email, by event, by consent; paged as the
 * bands are. A new one is added to a band by its UID.
 */
export const Attendees = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const readable = can(session, "EDITOR")
  const [filters, setFilters] = useState<Filters>(() => ({
    eventId: new URLSearchParams(window.location.search).get("eventId") ?? "",
    q: "",
    consent: ""
  }))
  const [adding, setAdding] = useState(false)
  const events = useEvents(organizationId)
  const registrants = usePaged(
    (cursor) =>
      readable
        ? call((c) =>
            c.registrants.list({
              path: { organizationId },
              urlParams: {
                limit: PAGE,
                cursor,
                eventId: filters.eventId === "" ? undefined : EventId.make(filters.eventId),
                q: filters.q.trim() === "" ? undefined : filters.q.trim(),
                consent: filters.consent === "" ? undefined : filters.consent
              }
            })
          )
        : Promise.resolve({ items: [], nextCursor: null }),
    [organizationId, filters, readable]
  )
  const set = (patch: Partial<Filters>) => setFilters({ ...filters, ...patch })
  const eventName = (id: string) => events.data?.items.find((e) => e.id === id)?.name ?? "—"

  if (!readable)
    return (
      <section aria-labelledby="attendees-heading">
        <h1 id="attendees-heading">Attendees</h1>
        <ReadOnly>Attendees' names, addresses and consent are for editors and owners.</ReadOnly>
      </section>
    )
  return (
    <section aria-labelledby="attendees-heading">
      <h1 id="attendees-heading">Attendees</h1>
      <ErrorNotice error={registrants.error} />
      <p className="actions">
        <button type="button" className="quiet" aria-expanded={adding} onClick={() => setAdding(!adding)}>
          Add an attendee
        </button>
      </p>
      {adding && events.data !== null && (
        <NewAttendee
          organizationId={organizationId}
          events={events.data.items}
          eventId={filters.eventId}
          onCreated={(id) => navigate(`${BASE}/attendees/${id}`)}
        />
      )}
      <form className="filters" aria-label="Filter attendees" onSubmit={(e) => e.preventDefault()}>
        <EventSelect
          label="Event"
          events={events.data?.items ?? []}
          value={filters.eventId}
          onChange={(eventId) => set({ eventId })}
          any="All events"
        />
        <label>
          Search{" "}
          <input
            type="search"
            maxLength={200}
            placeholder="Name or email"
            value={filters.q}
            onChange={(e) => set({ q: e.target.value })}
          />
        </label>
        <label>
          Consent{" "}
          <select
            value={filters.consent}
            onChange={(e) => set({ consent: e.target.value as Filters["consent"] })}
          >
            <option value="">Any</option>
            {CHANNELS.map((c) => (
              <option key={c} value={c}>
                {CHANNEL_LABEL[c]} given
              </option>
            ))}
          </select>
        </label>
      </form>
      {registrants.items === null ? (
        <Loading what="attendees" />
      ) : registrants.items.length === 0 ? (
        <p>No attendees match.</p>
      ) : (
        <div className="scroll">
          <table className="attendees stack" aria-label="Attendees">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Phone</th>
                <th scope="col">Band</th>
                <th scope="col">Event</th>
                <th scope="col">Consent</th>
                <th scope="col">Added</th>
              </tr>
            </thead>
            <tbody>
              {registrants.items.map((r) => (
                <tr key={r.id}>
                  <td data-label="Name">
                    <Link to={`${BASE}/attendees/${r.id}`}>{r.name ?? r.email ?? r.bandUid}</Link>
                  </td>
                  <td data-label="Email">{r.email ?? "—"}</td>
                  <td data-label="Phone">{r.phone ?? "—"}</td>
                  <td data-label="Band">
                    <code>{r.bandUid}</code>
                  </td>
                  <td data-label="Event">{eventName(r.eventId)}</td>
                  <td data-label="Consent">{consented(r)}</td>
                  <td data-label="Added">{at(r.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {registrants.more !== null && (
        <button type="button" className="quiet" onClick={registrants.more}>
          Show more
        </button>
      )}
    </section>
  )
}

/**
 * A new registrant for a band of an event, the band named by its UID (what an organiser has in hand at the gate).
 * The UID is looked up before anything is created: a UID no band of the event has is refused by its field.
 */
const NewAttendee = ({
  organizationId,
  events,
  eventId: initialEvent,
  onCreated
}: {
  readonly organizationId: OrganizationId
  readonly events: ReadonlyArray<{ readonly id: string; readonly name: string }>
  readonly eventId: string
  readonly onCreated: (id: string) => void
}) => {
  const [eventId, setEventId] = useState(initialEvent === "" ? (events[0]?.id ?? "") : initialEvent)
  const [bandUid, setBandUid] = useState("")

  /** The band with this exact UID in the event; the API's search matches UIDs by their start. */
  const bandOf = async (uid: string) => {
    if (!Schema.is(BandUid)(uid)) return undefined
    const page = await call((c) =>
      c.bands.list({
        path: { organizationId },
        urlParams: {
          limit: 100,
          deleted: false,
          eventId: EventId.make(eventId),
          q: uid,
          sort: "bandUid",
          order: "asc"
        }
      })
    )
    return page.items.find((b) => b.bandUid === uid)
  }

  return (
    <AttendeeForm
      idPrefix="attendee-new"
      label="New attendee"
      submitLabel="Add attendee"
      initial={{ name: "", email: "", phone: "", locale: "" }}
      beforeSubmit={() => (eventId === "" || bandUid.trim() === "" ? "bandId" : null)}
      extra={(fields) => (
        <div className="field-row">
          <EventSelect label="Event" events={events} value={eventId} onChange={setEventId} />
          <Field id="attendee-new-band" label="Band UID" error={fields.bandId}>
            {(control) => (
              <input
                {...control}
                maxLength={64}
                value={bandUid}
                onChange={(e) => setBandUid(e.target.value)}
              />
            )}
          </Field>
        </div>
      )}
      onSubmit={async (values, consents) => {
        const band = await bandOf(bandUid.trim())
        // Refused as the API refuses a field, so the form shows it by the band's field.
        if (band === undefined)
          return Promise.reject({
            _tag: "InvalidRequest",
            message: `bandId: no band ${bandUid.trim()} in this event`
          })
        return call((c) =>
          c.registrants.create({
            path: { organizationId },
            payload: {
              bandId: BandId.make(band.id),
              name: given(values.name),
              email: given(values.email) as never,
              phone: given(values.phone),
              locale: given(values.locale),
              ...(consents.length === 0 ? {} : { consents })
            }
          })
        )
      }}
      onSaved={(created) => onCreated(created.id)}
    />
  )
}
