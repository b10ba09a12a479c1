import { type EventStatus, OrganizationId, type TimeZone } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { BASE, Link, navigate } from "../router.js"
import { can, useSession } from "../session.js"
import { Field } from "../ui/Field.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { TimeZonePicker } from "../ui/TimeZonePicker.js"
import { useForm } from "../ui/useForm.js"
import { useLoad } from "../ui/useLoad.js"

/** What the new-event form says of a refused value (the settings form says the same). */
export const NEW_EVENT_MESSAGES = {
  name: "Give the event a name of 1 to 200 characters.",
  timezone: "Choose a time zone from the list, such as Europe/Lisbon."
}

export const StatusBadge = ({ status }: { readonly status: EventStatus }) => (
  <span className={`status status-${status.toLowerCase()}`}>{status}</span>
)

/** The organisation's events, and (EDITOR) a new one. */
export const Events = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const events = useLoad(
    () =>
      call((client) =>
        client.events.list({ path: { organizationId }, urlParams: { limit: 200, deleted: false } })
      ),
    [organizationId]
  )
  const [name, setName] = useState("")
  const [timezone, setTimezone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone)
  const form = useForm(NEW_EVENT_MESSAGES)

  const create = (event: FormEvent) => {
    event.preventDefault()
    form.submit(
      () =>
        call((client) =>
          client.events.create({
            path: { organizationId },
            payload: { name, timezone: timezone as TimeZone, assignOnFlag: false, autoLifecycle: false }
          })
        ),
      (created) => navigate(`${BASE}/events/${created.id}`)
    )
  }

  return (
    <section aria-labelledby="events-heading">
      <h1 id="events-heading">Events</h1>
      <ErrorNotice error={events.error ?? form.error} />
      {can(session, "EDITOR") && (
        <form className="inline" onSubmit={create} aria-label="New event" noValidate>
          <Field id="new-event-name" label="Name" error={form.fields.name}>
            {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field id="new-event-timezone" label="Time zone" error={form.fields.timezone}>
            {(control) => <TimeZonePicker {...control} value={timezone} onChange={setTimezone} />}
          </Field>
          <button type="submit">Create event</button>
        </form>
      )}
      {events.data === null ? (
        <Loading what="events" />
      ) : events.data.items.length === 0 ? (
        <p>No events yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Time zone</th>
              <th scope="col">Live</th>
            </tr>
          </thead>
          <tbody>
            {events.data.items.map((e) => (
              <tr key={e.id}>
                <td>
                  <Link to={`${BASE}/events/${e.id}`}>{e.name}</Link>
                </td>
                <td>
                  <StatusBadge status={e.status} />
                </td>
                <td>{e.timezone}</td>
                <td>
                  <Link to={`${BASE}/events/${e.id}/live`} aria-label={`Live view of ${e.name}`}>
                    Live
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
