import { EventId, OrganizationId } from "@tapline/domain"
import { useState } from "react"
import { call } from "../api.js"
import { BASE, Link, navigate } from "../router.js"
import { can, useSession } from "../session.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { EventSelect } from "../ui/Selects.js"
import { useEvents, useLoad } from "../ui/useLoad.js"
import { describeChannel, describeTrigger, JourneyForm } from "./JourneyForm.js"

const NEW_JOURNEY = {
  name: "",
  trigger: { _tag: "first_tap" as const },
  delayMinutes: 0,
  channel: "email" as const,
  subject: "Welcome to {{event}}",
  body: "Hello {{name}},\n\nThe programme is at {{windowUrl}}.\n\nUnsubscribe: {{unsubscribeUrl}}",
  enabled: true
}

/**
 * An event's journeys (messages sent once per band when a trigger fires), and (EDITOR) a new one. The event comes
 * from the address (`?eventId=`, the event's page links here) or the picker.
 */
export const Journeys = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const events = useEvents(organizationId)
  const [chosen, setChosen] = useState(() => new URLSearchParams(window.location.search).get("eventId") ?? "")
  const eventId = chosen !== "" ? chosen : (events.data?.items[0]?.id ?? "")
  const journeys = useLoad(
    () =>
      eventId === ""
        ? Promise.resolve(null)
        : call((c) =>
            c.journeys.list({
              path: { organizationId },
              urlParams: { limit: 100, eventId: EventId.make(eventId) }
            })
          ),
    [organizationId, eventId]
  )
  const channels = useLoad(
    () => call((c) => c.journeys.channels({ path: { organizationId } })),
    [organizationId]
  )
  const choose = (id: string) => {
    setChosen(id)
    window.history.replaceState(null, "", `${BASE}/journeys?eventId=${encodeURIComponent(id)}`)
  }

  return (
    <section aria-labelledby="journeys-heading">
      <h1 id="journeys-heading">Journeys</h1>
      <ErrorNotice error={events.error ?? journeys.error} />
      {channels.data !== null && (
        <ul aria-label="Channels" className="muted">
          {channels.data.channels.map((state) => (
            <li key={state.channel}>{describeChannel(state)}</li>
          ))}
        </ul>
      )}
      <form className="filters" aria-label="Choose the event" onSubmit={(e) => e.preventDefault()}>
        <EventSelect label="Event" events={events.data?.items ?? []} value={eventId} onChange={choose} />
      </form>
      {events.data !== null && events.data.items.length === 0 ? (
        <p>Create an event first: journeys belong to an event.</p>
      ) : journeys.data === null ? (
        <Loading what="journeys" />
      ) : journeys.data.items.length === 0 ? (
        <p>No journeys for this event yet.</p>
      ) : (
        <div className="scroll">
          <table aria-label="Journeys" className="stack">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Trigger</th>
                <th scope="col">Delay</th>
                <th scope="col">Channel</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {journeys.data.items.map((j) => (
                <tr key={j.id}>
                  <td data-label="Name">
                    <Link to={`${BASE}/journeys/${j.id}`}>{j.name}</Link>
                  </td>
                  <td data-label="Trigger">{describeTrigger(j.trigger)}</td>
                  <td data-label="Delay">{j.delayMinutes} min</td>
                  <td data-label="Channel">{j.channel}</td>
                  <td data-label="State">{j.enabled ? "enabled" : "disabled"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {can(session, "EDITOR") && eventId !== "" && (
        <>
          <h2>New journey</h2>
          <JourneyForm
            key={eventId}
            idPrefix="journey-new"
            label="New journey"
            submitLabel="Create journey"
            initial={NEW_JOURNEY}
            channels={channels.data?.channels ?? null}
            onSubmit={(values) =>
              call((c) =>
                c.journeys.create({
                  path: { organizationId },
                  payload: { eventId: EventId.make(eventId), ...values }
                })
              )
            }
            onSaved={(journey) => navigate(`${BASE}/journeys/${journey.id}`)}
          />
        </>
      )}
    </section>
  )
}
