import { EventId, JourneyId, OrganizationId } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { BASE, Link, navigate } from "../router.js"
import { can, useSession } from "../session.js"
import { ConfirmButton } from "../ui/ConfirmButton.js"
import { ErrorNotice, Loading, ReadOnly } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useLoad } from "../ui/useLoad.js"
import { JourneyDeliveries } from "./JourneyDeliveries.js"
import { describeTrigger, JourneyForm } from "./JourneyForm.js"

/**
 * One journey: its definition (edited by an EDITOR, read by a VIEWER), a preview of its message for a sample or a
 * chosen attendee, a test sent to the signed-in user's own address, deletion, and its delivery log.
 */
export const JourneyEdit = ({ journeyId: id }: { readonly journeyId: string }) => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const journeyId = JourneyId.make(id)
  const editable = can(session, "EDITOR")
  const journey = useLoad(
    () => call((c) => c.journeys.get({ path: { organizationId, journeyId } })),
    [organizationId, journeyId]
  )
  const channels = useLoad(
    () => call((c) => c.journeys.channels({ path: { organizationId } })),
    [organizationId]
  )
  const [saved, setSaved] = useState(0)
  const { error, run } = useAction()

  if (journey.data === null)
    return journey.error === null ? <Loading what="the journey" /> : <ErrorNotice error={journey.error} />
  const j = journey.data
  const list = `${BASE}/journeys?eventId=${j.eventId}`
  return (
    <>
      <p>
        <Link to={list}>← Journeys of the event</Link>
      </p>
      <section aria-labelledby="journey-heading">
        <h1 id="journey-heading">{j.name}</h1>
        <ErrorNotice error={error} />
        <p>
          {describeTrigger(j.trigger)} · then {j.delayMinutes} min · {j.channel} ·{" "}
          <span data-testid="journey-state">{j.enabled ? "enabled" : "disabled"}</span>
        </p>
        {editable ? (
          <>
            {saved > 0 && (
              <p role="status" className="muted">
                Saved.
              </p>
            )}
            <JourneyForm
              // A new form for the saved journey: its fields start from what the API now holds.
              key={`${j.id}-${j.updatedAt.getTime()}`}
              idPrefix="journey-edit"
              label="Edit journey"
              submitLabel="Save journey"
              initial={j}
              channels={channels.data?.channels ?? null}
              onSubmit={(values) =>
                call((c) => c.journeys.update({ path: { organizationId, journeyId }, payload: values }))
              }
              onSaved={() => {
                setSaved((n) => n + 1)
                journey.reload()
              }}
            />
            <p className="actions">
              <ConfirmButton
                label="Delete journey"
                className="quiet"
                question={`Delete the journey ${j.name}?`}
                consequence="No more messages are sent for it; its delivery log goes with it."
                onConfirm={() =>
                  run(
                    () => call((c) => c.journeys.delete({ path: { organizationId, journeyId } })),
                    () => navigate(list)
                  )
                }
              />
            </p>
          </>
        ) : (
          <>
            <h2>Subject</h2>
            <p>{j.subject}</p>
            <h2>Body</h2>
            <pre className="wrap">{j.body}</pre>
            <ReadOnly />
          </>
        )}
      </section>
      {editable && (
        <>
          <Preview
            key={`preview-${saved}`}
            organizationId={organizationId}
            journeyId={journeyId}
            eventId={EventId.make(j.eventId)}
            me={session.me.email}
          />
          <JourneyDeliveries
            organizationId={organizationId}
            journeyId={journeyId}
            eventId={EventId.make(j.eventId)}
          />
        </>
      )}
    </>
  )
}

/**
 * The message as the journey's saved templates render it, for the sample person or an attendee of the event
 * (their name), with a window's address; and a test of it, sent to the signed-in user (the API sends a test to
 * the address it is given: the console gives yours, so a test never writes to an attendee).
 */
const Preview = ({
  organizationId,
  journeyId,
  eventId,
  me
}: {
  readonly organizationId: OrganizationId
  readonly journeyId: JourneyId
  readonly eventId: EventId
  readonly me: string
}) => {
  const attendees = useLoad(
    () => call((c) => c.registrants.list({ path: { organizationId }, urlParams: { limit: 100, eventId } })),
    [organizationId, eventId]
  )
  const [person, setPerson] = useState("")
  const [windowUrl, setWindowUrl] = useState("")
  const [rendered, setRendered] = useState<{ subject: string; text: string } | null>(null)
  const [sent, setSent] = useState<string | null>(null)
  const preview = useAction()
  const test = useAction()

  const show = (e: FormEvent) => {
    e.preventDefault()
    const name = attendees.data?.items.find((r) => r.id === person)?.name ?? undefined
    preview.run(
      () =>
        call((c) =>
          c.journeys.preview({
            path: { organizationId, journeyId },
            payload: {
              ...(name === undefined ? {} : { name }),
              ...(windowUrl.trim() === "" ? {} : { windowUrl: windowUrl.trim() })
            }
          })
        ),
      (answer) => setRendered({ subject: answer.subject, text: answer.text })
    )
  }

  return (
    <section aria-labelledby="journey-preview-heading">
      <h2 id="journey-preview-heading">Preview and test</h2>
      <form onSubmit={show} aria-label="Preview" className="panel">
        <ErrorNotice error={preview.error ?? attendees.error} />
        <div className="field-row">
          <label>
            For{" "}
            <select aria-label="Preview for" value={person} onChange={(e) => setPerson(e.target.value)}>
              <option value="">A sample attendee (Ada Lovelace)</option>
              {attendees.data?.items
                .filter((r) => r.name !== null)
                .map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name} ({r.bandUid})
                  </option>
                ))}
            </select>
          </label>
          <label>
            Window address{" "}
            <input
              type="url"
              inputMode="url"
              maxLength={2000}
              placeholder="https://example.com/"
              value={windowUrl}
              onChange={(e) => setWindowUrl(e.target.value)}
            />
          </label>
        </div>
        <p className="actions">
          <button type="submit">Preview</button>
        </p>
      </form>
      {rendered !== null && (
        <figure className="panel" aria-label="Rendered message">
          <p>
            <strong>Subject:</strong> <span data-testid="preview-subject">{rendered.subject}</span>
          </p>
          <pre className="wrap" data-testid="preview-text">
            {rendered.text}
          </pre>
        </figure>
      )}
      <ErrorNotice error={test.error} />
      <p className="actions">
        <button
          type="button"
          className="quiet"
          onClick={() => {
            setSent(null)
            test.run(
              () =>
                call((c) =>
                  c.journeys.test({ path: { organizationId, journeyId }, payload: { to: me as never } })
                ),
              () => setSent(me)
            )
          }}
        >
          Send a test to me
        </button>
        <span className="muted"> to {me}, with the sample values</span>
      </p>
      {sent !== null && <p role="status">Test sent to {sent}.</p>}
    </section>
  )
}
