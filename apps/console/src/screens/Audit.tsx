import { OrganizationId } from "@tapline/domain"
import { useState } from "react"
import { call, endpointUrl } from "../api.js"
import { useSession } from "../session.js"
import { when } from "../ui/format.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { usePaged } from "../ui/usePaged.js"

type Entry = Awaited<ReturnType<typeof loadPage>>["items"][number]
const loadPage = (
  organizationId: OrganizationId,
  filters: { action: string; resourceType: string },
  cursor?: string
) =>
  call((c) =>
    c.audit.list({
      path: { organizationId },
      urlParams: {
        limit: 100,
        cursor,
        action: filters.action === "" ? undefined : filters.action,
        resourceType: filters.resourceType === "" ? undefined : filters.resourceType
      }
    })
  )

/** A value as the log shows it: text as written, nothing as a dash, anything else as JSON. */
const shown = (value: unknown) =>
  value === null || value === undefined ? "—" : typeof value === "string" ? value : JSON.stringify(value)

/**
 * The time of the change itself is the entry's own time: a row's `updatedAt` moving with every change is
 * not shown as one of its changes.
 */
const UNSHOWN = new Set(["updatedAt"])

/**
 * What an entry changed, one line per field: `old → new` for the fields whose values differ (an absent field
 * and null are the same: the API leaves empty options out); a creation shows the values it set, a deletion
 * the ones it had. Secrets arrive already redacted by the API.
 */
const changedFields = (entry: Entry): ReadonlyArray<string> => {
  const before = entry.oldValues as Record<string, unknown> | null
  const after = entry.newValues as Record<string, unknown> | null
  if (before === null || typeof before !== "object") return setValues(after)
  if (after === null || typeof after !== "object") return setValues(before)
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
  return keys
    .filter(
      (key) => !UNSHOWN.has(key) && JSON.stringify(before[key] ?? null) !== JSON.stringify(after[key] ?? null)
    )
    .map((key) => `${key}: ${shown(before[key])} → ${shown(after[key])}`)
}

/** The fields a created (or deleted) row had set: its empty ones say nothing. */
const setValues = (values: Record<string, unknown> | null) =>
  Object.entries(values ?? {})
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${key}: ${shown(value)}`)

const ACTOR_KINDS = { user: "user", api_key: "API key", system: "Tapline" } as const

/** The organisation's audit log (OWNER): who changed what, newest first, filtered, exported as CSV. */
export const Audit = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const [filters, setFilters] = useState({ action: "", resourceType: "" })
  const entries = usePaged((cursor) => loadPage(organizationId, filters, cursor), [organizationId, filters])

  return (
    <section aria-labelledby="audit-heading">
      <h1 id="audit-heading">Audit log</h1>
      <form className="filters" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <label>
          Action{" "}
          <input
            maxLength={100}
            value={filters.action}
            placeholder="event.update"
            onChange={(e) => setFilters({ ...filters, action: e.target.value })}
          />
        </label>
        <label>
          Resource{" "}
          <input
            maxLength={100}
            value={filters.resourceType}
            placeholder="event"
            onChange={(e) => setFilters({ ...filters, resourceType: e.target.value })}
          />
        </label>
        <a
          className="button quiet"
          href={endpointUrl(
            "audit",
            "export",
            { organizationId },
            {
              action: filters.action,
              resourceType: filters.resourceType
            }
          )}
        >
          Download (CSV)
        </a>
      </form>
      <ErrorNotice error={entries.error} />
      {entries.items === null ? (
        <Loading what="the audit log" />
      ) : entries.items.length === 0 ? (
        <p>Nothing recorded yet.</p>
      ) : (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Resource</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {entries.items.map((entry) => (
                <tr key={entry.id}>
                  <td>{when(entry.occurredAt)}</td>
                  <td>
                    {/* A deleted user or key has no name left: its kind and the start of its id. */}
                    <span>{entry.actorName ?? entry.actorId?.slice(0, 8) ?? "—"}</span>{" "}
                    {entry.actorType !== "system" && (
                      <small className="muted">{ACTOR_KINDS[entry.actorType]}</small>
                    )}
                  </td>
                  <td>
                    <code>{entry.action}</code>
                  </td>
                  <td>
                    {entry.resourceType}
                    {entry.resourceId === null ? "" : ` ${entry.resourceId.slice(0, 8)}`}
                  </td>
                  <td className="wrap">
                    <ul className="changes" data-testid="audit-changes">
                      {changedFields(entry).map((line) => (
                        <li key={line}>{line}</li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {entries.more !== null && (
        <button type="button" className="quiet" onClick={entries.more}>
          Show older
        </button>
      )}
    </section>
  )
}
