import { EventId, type EventStatus, type MemberRole, OrganizationId } from "@tapline/domain"
import { useCallback, useEffect, useState } from "react"
import { call, describe, tagOf } from "./api.js"

interface Me {
  readonly email: string
  readonly platformAdmin: boolean
  readonly memberships: ReadonlyArray<{ readonly organizationId: string; readonly role: MemberRole }>
}
interface Org {
  readonly id: string
  readonly name: string
  readonly slug: string
}
interface EventRow {
  readonly id: string
  readonly name: string
  readonly status: EventStatus
  readonly timezone: string
}

/** The moves the API allows from each status (DESIGN.md §5); anything else answers 409. */
const NEXT: Record<EventStatus, ReadonlyArray<EventStatus>> = {
  DRAFT: ["ACTIVE", "CANCELLED"],
  ACTIVE: ["COMPLETED", "CANCELLED"],
  COMPLETED: [],
  CANCELLED: []
}
const VERB: Record<EventStatus, string> = {
  DRAFT: "Back to draft",
  ACTIVE: "Go live",
  COMPLETED: "Complete",
  CANCELLED: "Cancel event"
}

/** A VIEWER reads; EDITOR and OWNER (and a platform ADMIN) change events. The API decides regardless. */
const canEdit = (me: Me, orgId: string) =>
  me.platformAdmin || me.memberships.some((m) => m.organizationId === orgId && m.role !== "VIEWER")

const ORG_KEY = "tapline.console.organization"

export const App = () => {
  const [me, setMe] = useState<Me | "signed-out" | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [orgs, setOrgs] = useState<ReadonlyArray<Org>>([])
  const [orgId, setOrgId] = useState<string | null>(() => window.localStorage.getItem(ORG_KEY))
  const [events, setEvents] = useState<ReadonlyArray<EventRow> | null>(null)
  const [selected, setSelected] = useState<string | null>(null)

  useEffect(() => {
    call((client) => client.sessions.me())
      .then(async (found) => {
        setMe(found)
        const page = await call((client) => client.organizations.list({ urlParams: { limit: 500 } }))
        setOrgs(page.items)
        setOrgId((current) =>
          current !== null && page.items.some((o) => o.id === current) ? current : (page.items[0]?.id ?? null)
        )
      })
      .catch((failure: unknown) =>
        tagOf(failure) === "Unauthorized" ? setMe("signed-out") : setError(describe(failure))
      )
  }, [])

  const loadEvents = useCallback(() => {
    if (orgId === null) return
    window.localStorage.setItem(ORG_KEY, orgId)
    setEvents(null)
    call((client) =>
      client.events.list({
        path: { organizationId: OrganizationId.make(orgId) },
        urlParams: { limit: 200, deleted: false }
      })
    )
      .then((page) => setEvents(page.items))
      .catch((failure: unknown) => setError(describe(failure)))
  }, [orgId])
  useEffect(loadEvents, [loadEvents])

  const changeStatus = (eventId: string, status: EventStatus) => {
    if (orgId === null) return
    setError(null)
    call((client) =>
      client.events.changeStatus({
        path: { organizationId: OrganizationId.make(orgId), eventId: EventId.make(eventId) },
        payload: { status }
      })
    )
      .then(loadEvents)
      .catch((failure: unknown) => setError(describe(failure)))
  }

  if (me === null) return <p role="status">Loading…</p>
  if (me === "signed-out") {
    return (
      <main className="narrow">
        <h1>Tapline</h1>
        <p>You are signed out.</p>
        <p>
          <a className="button" href="/sign-in">
            Sign in
          </a>
        </p>
      </main>
    )
  }
  const editable = orgId !== null && canEdit(me, orgId)
  const event = events?.find((e) => e.id === selected) ?? null
  return (
    <>
      <header>
        <strong>Tapline</strong>
        <label>
          Organisation{" "}
          <select value={orgId ?? ""} onChange={(e) => setOrgId(e.target.value)}>
            {orgs.map((org) => (
              <option key={org.id} value={org.id}>
                {org.name}
              </option>
            ))}
          </select>
        </label>
        <span className="who">{me.email}</span>
      </header>
      <main>
        {error !== null && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <section aria-labelledby="events-heading">
          <h1 id="events-heading">Events</h1>
          {events === null ? (
            <p role="status">Loading events…</p>
          ) : events.length === 0 ? (
            <p>No events yet.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Status</th>
                  <th scope="col">Time zone</th>
                </tr>
              </thead>
              <tbody>
                {events.map((e) => (
                  <tr key={e.id} aria-selected={e.id === selected}>
                    <td>
                      <button type="button" className="link" onClick={() => setSelected(e.id)}>
                        {e.name}
                      </button>
                    </td>
                    <td>
                      <span className={`status status-${e.status.toLowerCase()}`}>{e.status}</span>
                    </td>
                    <td>{e.timezone}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        {event !== null && (
          <section aria-labelledby="event-heading" className="detail">
            <h2 id="event-heading">{event.name}</h2>
            <p>
              Status: <strong data-testid="event-status">{event.status}</strong>
            </p>
            {editable ? (
              <div className="actions">
                {NEXT[event.status].map((status) => (
                  <button key={status} type="button" onClick={() => changeStatus(event.id, status)}>
                    {VERB[status]}
                  </button>
                ))}
              </div>
            ) : (
              <p className="muted">Your role in this organisation reads only.</p>
            )}
          </section>
        )}
      </main>
    </>
  )
}
