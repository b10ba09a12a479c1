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

const changes = (entry: Entry) => {
  const before = (entry.oldValues ?? {}) as Record<string, unknown>
  const after = (entry.newValues ?? {}) as Record<string, unknown>
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
  return keys
    .map((k) => `${k}: ${JSON.stringify(before[k] ?? null)} → ${JSON.stringify(after[k] ?? null)}`)
    .join("; ")
}

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
            value={filters.action}
            placeholder="event.update"
            onChange={(e) => setFilters({ ...filters, action: e.target.value })}
          />
        </label>
        <label>
          Resource{" "}
          <input
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
                    {entry.actorType}
                    {entry.actorId === null ? "" : ` ${entry.actorId.slice(0, 8)}`}
                  </td>
                  <td>
                    <code>{entry.action}</code>
                  </td>
                  <td>
                    {entry.resourceType}
                    {entry.resourceId === null ? "" : ` ${entry.resourceId.slice(0, 8)}`}
                  </td>
                  <td className="wrap">{changes(entry)}</td>
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
