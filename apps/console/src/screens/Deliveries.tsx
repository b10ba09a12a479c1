import { EventId, type JourneyMessageStatus, OrganizationId } from "@tapline/domain"
import { useState } from "react"
import { call } from "../api.js"
import { BASE, Link } from "../router.js"
import { can, useSession } from "../session.js"
import { ErrorNotice, Loading, ReadOnly } from "../ui/Notice.js"
import { EventSelect } from "../ui/Selects.js"
import { useEvents, useLoad } from "../ui/useLoad.js"
import { JourneyDeliveries } from "./JourneyDeliveries.js"

/**
 * Every journey's delivery log of an event on one page, dead messages first (what needs a hand), each with its
 * own status filter and redrive. Composed from the per-journey log the API offers: an event has a handful of
 * journeys, so one call each is cheaper than another endpoint (docs/console.md).
 */
export const Deliveries = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const editable = can(session, "EDITOR")
  const events = useEvents(organizationId)
  const [chosen, setChosen] = useState(() => new URLSearchParams(window.location.search).get("eventId") ?? "")
  const [status, setStatus] = useState<"" | typeof JourneyMessageStatus.Type>("dead")
  const eventId = chosen !== "" ? chosen : (events.data?.items[0]?.id ?? "")
  const journeys = useLoad(
    () =>
      eventId === "" || !editable
        ? Promise.resolve(null)
        : call((c) =>
            c.journeys.list({
              path: { organizationId },
              urlParams: { limit: 100, eventId: EventId.make(eventId) }
            })
          ),
    [organizationId, eventId, editable]
  )

  if (!editable)
    return (
      <section aria-labelledby="deliveries-heading">
        <h1 id="deliveries-heading">Deliveries</h1>
        <ReadOnly>The delivery log names the bands written to: it is for editors and owners.</ReadOnly>
      </section>
    )
  return (
    <section aria-labelledby="deliveries-heading">
      <h1 id="deliveries-heading">Deliveries</h1>
      <ErrorNotice error={events.error ?? journeys.error} />
      <form className="filters" aria-label="Choose the event" onSubmit={(e) => e.preventDefault()}>
        <EventSelect
          label="Event"
          events={events.data?.items ?? []}
          value={eventId}
          onChange={(id) => {
            setChosen(id)
            window.history.replaceState(null, "", `${BASE}/deliveries?eventId=${encodeURIComponent(id)}`)
          }}
        />
        <label>
          Show{" "}
          <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
            <option value="dead">Dead messages</option>
            <option value="">Every message</option>
          </select>
        </label>
      </form>
      {journeys.data === null ? (
        eventId === "" && events.data !== null ? (
          <p>No events yet.</p>
        ) : (
          <Loading what="journeys" />
        )
      ) : journeys.data.items.length === 0 ? (
        <p>
          No journeys for this event. <Link to={`${BASE}/journeys?eventId=${eventId}`}>Make one</Link>.
        </p>
      ) : (
        journeys.data.items.map((j) => (
          <JourneyDeliveries
            // A new filter here starts each journey's own filter again.
            key={`${j.id}-${status}`}
            organizationId={organizationId}
            journeyId={j.id}
            eventId={j.eventId}
            title={j.name}
            initialStatus={status}
          />
        ))
      )}
    </section>
  )
}
