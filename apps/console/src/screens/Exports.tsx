import { EventId, OrganizationId } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { can, useSession } from "../session.js"
import { when } from "../ui/format.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { EventSelect } from "../ui/Selects.js"
import { useAction } from "../ui/useAction.js"
import { useEvents, useLoad, useReloadWhile } from "../ui/useLoad.js"

/**
 * Background CSV exports (taps of an event; the audit log for an OWNER) and their download links. Each names
 * its event; the file it downloads is named after the event and its day.
 */
export const Exports = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const exports = useLoad(
    () => call((c) => c.exports.list({ path: { organizationId }, urlParams: { limit: 50 } })),
    [organizationId]
  )
  const events = useEvents(organizationId)
  const [eventId, setEventId] = useState("")
  const pending = exports.data?.items.some((e) => e.status === "queued" || e.status === "running") ?? false

  useReloadWhile(pending, exports)

  const { error, run } = useAction()
  const start = (payload: Parameters<typeof createExport>[1]) =>
    run(() => createExport(organizationId, payload), exports.reload)
  const onTaps = (e: FormEvent) => {
    e.preventDefault()
    const chosen = eventId || events.data?.items[0]?.id
    if (chosen !== undefined) start({ kind: "taps", eventId: EventId.make(chosen) })
  }

  return (
    <section aria-labelledby="exports-heading">
      <h1 id="exports-heading">Exports</h1>
      <ErrorNotice error={error ?? exports.error} />
      <form className="inline" onSubmit={onTaps} aria-label="Export taps">
        <EventSelect
          label="Taps of"
          events={events.data?.items ?? []}
          value={eventId}
          onChange={setEventId}
        />
        <button type="submit">Export taps</button>
        {can(session, "OWNER") && (
          <button type="button" className="quiet" onClick={() => start({ kind: "audit" })}>
            Export the audit log
          </button>
        )}
      </form>
      {exports.data === null ? (
        <Loading what="exports" />
      ) : exports.data.items.length === 0 ? (
        <p>No exports yet.</p>
      ) : (
        <table className="stack">
          <thead>
            <tr>
              <th scope="col">Requested</th>
              <th scope="col">Of</th>
              <th scope="col">Status</th>
              <th scope="col">Rows</th>
              <th scope="col">File</th>
            </tr>
          </thead>
          <tbody>
            {exports.data.items.map((x) => (
              <tr key={x.id}>
                <td>{when(x.createdAt)}</td>
                <td data-label="Of">
                  {x.kind === "audit" ? "The audit log" : `Taps of ${x.eventName ?? "an event"}`}
                </td>
                <td data-label="Status" data-testid="export-status">
                  {x.status}
                </td>
                <td data-label="Rows">{x.rows ?? "—"}</td>
                <td>
                  {x.downloadUrl !== null ? (
                    <a href={x.downloadUrl} download>
                      Download
                    </a>
                  ) : (
                    (x.error ?? "—")
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

const createExport = (
  organizationId: OrganizationId,
  payload: { readonly kind: "taps"; readonly eventId: EventId } | { readonly kind: "audit" }
) =>
  call((c) =>
    payload.kind === "taps"
      ? c.exports.create({ path: { organizationId }, payload })
      : c.exports.create({ path: { organizationId }, payload })
  )
