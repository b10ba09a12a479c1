import { EventId, EventLifecycle, type EventStatus, OrganizationId } from "@tapline/domain"
import { call } from "../api.js"
import { BASE, Link, navigate } from "../router.js"
import { can, useSession } from "../session.js"
import { ConfirmButton } from "../ui/ConfirmButton.js"
import { ErrorNotice, Loading, ReadOnly } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useLoad } from "../ui/useLoad.js"
import { EventSettings } from "./EventSettings.js"
import { StatusBadge } from "./Events.js"
import { WindowsEditor } from "./WindowsEditor.js"

const VERB: Record<EventStatus, string> = {
  DRAFT: "Back to draft",
  ACTIVE: "Go live",
  COMPLETED: "Complete",
  CANCELLED: "Cancel event"
}

/** Every move is one an organiser cannot take back: each asks first, naming what follows. */
const ASK: Record<EventStatus, (name: string) => { question: string; consequence: string }> = {
  DRAFT: (name) => ({ question: `Move ${name} back to draft?`, consequence: "" }),
  ACTIVE: (name) => ({
    question: `Make ${name} live?`,
    consequence:
      "Its bands start redirecting to this event's windows as soon as you confirm. A live event can be " +
      "completed or cancelled, but not made a draft again."
  }),
  COMPLETED: (name) => ({
    question: `Complete ${name}?`,
    consequence: "A completed event cannot go live again; its bands go to the organisation's website."
  }),
  CANCELLED: (name) => ({
    question: `Cancel ${name}?`,
    consequence: "This cannot be undone: a cancelled event never goes live again."
  })
}

export const EventDetail = ({ eventId: id }: { readonly eventId: string }) => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const eventId = EventId.make(id)
  const event = useLoad(
    () => call((client) => client.events.get({ path: { organizationId, eventId } })),
    [organizationId, eventId]
  )
  const { error, run } = useAction()

  const changeStatus = (status: EventStatus) =>
    run(
      () =>
        call((client) =>
          client.events.changeStatus({ path: { organizationId, eventId }, payload: { status } })
        ),
      event.reload
    )
  const remove = () =>
    run(
      () =>
        call((client) =>
          client.events.delete({ path: { organizationId, eventId }, urlParams: { purge: false } })
        ),
      () => navigate(`${BASE}/events`)
    )

  if (event.data === null)
    return event.error === null ? <Loading what="the event" /> : <ErrorNotice error={event.error} />
  const e = event.data
  return (
    <>
      <p>
        <Link to={`${BASE}/events`}>← Events</Link>
      </p>
      <section aria-labelledby="event-heading">
        <h1 id="event-heading">{e.name}</h1>
        <ErrorNotice error={error ?? event.error} />
        <p>
          Status:{" "}
          <strong data-testid="event-status">
            <StatusBadge status={e.status} />
          </strong>{" "}
          · Time zone {e.timezone}
        </p>
        <p className="actions">
          <Link className="button quiet" to={`${BASE}/events/${e.id}/live`}>
            Live view
          </Link>
          <Link className="button quiet" to={`${BASE}/bands?eventId=${e.id}`}>
            Bands
          </Link>
          <Link className="button quiet" to={`${BASE}/analytics?eventId=${e.id}`}>
            Analytics
          </Link>
          <Link className="button quiet" to={`${BASE}/journeys?eventId=${e.id}`}>
            Journeys
          </Link>
        </p>
        {can(session, "EDITOR") ? (
          <div className="actions">
            {EventLifecycle.nextStates(e.status).map((status) => (
              <ConfirmButton
                key={status}
                label={VERB[status]}
                {...ASK[status](e.name)}
                onConfirm={() => changeStatus(status)}
              />
            ))}
            <ConfirmButton
              label="Delete event"
              className="quiet"
              question={`Delete ${e.name}?`}
              consequence={
                "The event moves to the trash and its bands stop redirecting to it; an owner can restore it " +
                "from the trash, or delete it for good."
              }
              onConfirm={remove}
            />
          </div>
        ) : (
          <ReadOnly />
        )}
      </section>
      {can(session, "EDITOR") && (
        <EventSettings key={e.id} organizationId={organizationId} event={e} onSaved={event.reload} />
      )}
      <WindowsEditor organizationId={organizationId} eventId={eventId} timezone={e.timezone} />
    </>
  )
}
