import { type EventStatus, OrganizationId, type TimeZone } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { BASE, Link, navigate } from "../router.js"
import { can, useSession } from "../session.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useLoad } from "../ui/useLoad.js"

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
  const { error, run } = useAction()

  const create = (event: FormEvent) => {
    event.preventDefault()
    run(
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
      <ErrorNotice error={events.error ?? error} />
      {can(session, "EDITOR") && (
        <form className="inline" onSubmit={create} aria-label="New event">
          <label>
            Name <input required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Time zone{" "}
            <input
              required
              value={timezone}
              onChange={(e) => setTimezone(e.target.value)}
              list="time-zones"
            />
          </label>
          <datalist id="time-zones">
            {Intl.supportedValuesOf("timeZone").map((zone) => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
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
