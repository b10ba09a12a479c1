import { type EventId, type JourneyId, JourneyMessageStatus, type OrganizationId } from "@tapline/domain"
import { useState } from "react"
import { call } from "../api.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useLoad, useReloadWhile } from "../ui/useLoad.js"
import { at } from "./AttendeeForm.js"

const SKIPPED: Record<string, string> = {
  no_registrant: "the band has no registrant",
  no_address: "no address for the channel",
  no_consent: "no consent for the channel",
  journey_disabled: "the journey was disabled"
}

/**
 * A journey's delivery log (EDITOR: it names bands whose registrants were written to): each message's status,
 * attempts, last error and when it went, filtered by status; a dead message redriven (back in the queue, its
 * attempts reset). Loads again while a message is on its way.
 */
export const JourneyDeliveries = ({
  organizationId,
  journeyId,
  eventId,
  title = "Deliveries",
  initialStatus = ""
}: {
  readonly organizationId: OrganizationId
  readonly journeyId: JourneyId
  /** The journey's event: its attendees name the bands in the log. */
  readonly eventId: EventId
  /** The section's heading: the journey's name where several journeys' logs share a page. */
  readonly title?: string
  readonly initialStatus?: "" | typeof JourneyMessageStatus.Type
}) => {
  const [status, setStatus] = useState<"" | typeof JourneyMessageStatus.Type>(initialStatus)
  const headingId = `journey-deliveries-heading-${journeyId}`
  const messages = useLoad(
    () =>
      call((c) =>
        c.journeys.messages({
          path: { organizationId, journeyId },
          urlParams: { limit: 100, status: status === "" ? undefined : status }
        })
      ),
    [organizationId, journeyId, status]
  )
  // The log holds band ids; an organiser knows people and the UIDs printed on bands. The event's attendees (the
  // latest 500) name them, read again when the log shows other bands; a band without one (erased, or beyond
  // those) shows the end of its id.
  const bands = [...new Set(messages.data?.items.map((m) => m.bandId) ?? [])].sort().join(",")
  const people = useLoad(
    () =>
      call((c) => c.registrants.list({ path: { organizationId }, urlParams: { limit: 500, eventId } })).then(
        (page) =>
          new Map(page.items.map((r) => [r.bandId as string, `${r.name ?? r.email ?? "—"} (${r.bandUid})`]))
      ),
    [organizationId, eventId, bands]
  )
  const bandName = (bandId: string) => people.data?.get(bandId) ?? `band …${bandId.slice(-8)}`
  const pending = messages.data?.items.some((m) => m.status === "queued" || m.status === "sending") ?? false
  useReloadWhile(pending, messages)
  const { error, run } = useAction()

  return (
    <section aria-labelledby={headingId} data-journey={journeyId}>
      <h2 id={headingId}>{title}</h2>
      <ErrorNotice error={error ?? messages.error} />
      <p className="actions">
        <label>
          Status{" "}
          <select
            aria-label={`Status of ${title}`}
            value={status}
            onChange={(e) => setStatus(e.target.value as typeof status)}
          >
            <option value="">Any</option>
            {JourneyMessageStatus.literals.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="quiet" onClick={messages.reload}>
          Refresh
        </button>
      </p>
      {messages.data === null ? (
        <Loading what="deliveries" />
      ) : messages.data.items.length === 0 ? (
        <p>No messages{status === "" ? " yet" : ` ${status}`}.</p>
      ) : (
        <div className="scroll">
          <table aria-label="Journey deliveries" className="stack">
            <thead>
              <tr>
                <th scope="col">Due</th>
                <th scope="col">Band</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last error</th>
                <th scope="col">Sent</th>
                <th scope="col">Again</th>
              </tr>
            </thead>
            <tbody>
              {messages.data.items.map((m) => (
                <tr key={m.id} data-message={m.id}>
                  <td data-label="Due">{at(m.dueAt)}</td>
                  <td data-label="Band">
                    <span title={m.bandId}>{bandName(m.bandId)}</span>
                  </td>
                  <td data-label="Status" data-testid="journey-message-status">
                    {m.status}
                    {m.status === "skipped" && m.reason !== null && ` (${SKIPPED[m.reason] ?? m.reason})`}
                  </td>
                  <td data-label="Attempts">{m.attempts}</td>
                  <td data-label="Last error">{m.lastError ?? "—"}</td>
                  <td data-label="Sent">
                    {at(m.sentAt)}
                    {m.provider !== null && ` via ${m.provider}`}
                  </td>
                  <td>
                    {m.status === "dead" && (
                      <button
                        type="button"
                        className="quiet"
                        onClick={() =>
                          run(
                            () =>
                              call((c) =>
                                c.journeys.redrive({ path: { organizationId, journeyId, messageId: m.id } })
                              ),
                            // Back to every status: the redriven message leaves the dead ones, and is followed
                            // here until it is sent.
                            () => (status === "" ? messages.reload() : setStatus(""))
                          )
                        }
                      >
                        Redrive
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
