import { EventId, OrganizationId, TagId } from "@tapline/domain"
import { useState } from "react"
import { call } from "../api.js"
import { can, useSession } from "../session.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { EventSelect } from "../ui/Selects.js"
import { useAction } from "../ui/useAction.js"
import { useEvents, useLoad } from "../ui/useLoad.js"
import { usePaged } from "../ui/usePaged.js"
import { BandImport } from "./BandImport.js"
import { TagPicker } from "./TagPicker.js"

interface Filters {
  readonly eventId: string
  readonly q: string
  readonly flagged: "" | "true"
  readonly activity: "" | "tapped" | "never"
  readonly tagId: string
}

const PAGE = 100

/** The organisation's bands: filters, flags to resolve, tags, reassignment, and (EDITOR) an import. */
export const Bands = () => {
  const session = useSession()
  const editable = can(session, "EDITOR")
  const organizationId = OrganizationId.make(session.org.id)
  const [filters, setFilters] = useState<Filters>(() => ({
    eventId: new URLSearchParams(window.location.search).get("eventId") ?? "",
    q: "",
    flagged: "",
    activity: "",
    tagId: ""
  }))
  const events = useEvents(organizationId)
  const tags = useLoad(
    () =>
      call((c) => c.tags.list({ path: { organizationId }, urlParams: { limit: 500 } })).then((p) => p.items),
    [organizationId]
  )
  const bands = usePaged(
    (cursor) =>
      call((c) =>
        c.bands.list({
          path: { organizationId },
          urlParams: {
            limit: PAGE,
            cursor,
            deleted: false,
            eventId: filters.eventId === "" ? undefined : EventId.make(filters.eventId),
            q: filters.q === "" ? undefined : filters.q,
            flagged: filters.flagged === "" ? undefined : true,
            activity: filters.activity === "" ? undefined : filters.activity,
            tagId: filters.tagId === "" ? undefined : TagId.make(filters.tagId)
          }
        })
      ),
    [organizationId, filters]
  )

  const { error, run } = useAction()
  const act = (change: () => Promise<unknown>) => run(change, bands.reload)
  const set = (patch: Partial<Filters>) => setFilters({ ...filters, ...patch })
  const eventName = (id: string | null) => events.data?.items.find((e) => e.id === id)?.name ?? "—"
  const tagName = (id: string) => tags.data?.find((t) => t.id === id)?.name ?? id

  return (
    <section aria-labelledby="bands-heading">
      <h1 id="bands-heading">Bands</h1>
      <ErrorNotice error={error ?? bands.error} />
      <form className="filters" aria-label="Filter bands" onSubmit={(e) => e.preventDefault()}>
        <EventSelect
          label="Event"
          events={events.data?.items ?? []}
          value={filters.eventId}
          onChange={(eventId) => set({ eventId })}
          any="All events"
        />
        <label>
          Search <input type="search" value={filters.q} onChange={(e) => set({ q: e.target.value })} />
        </label>
        <label>
          <input
            type="checkbox"
            checked={filters.flagged === "true"}
            onChange={(e) => set({ flagged: e.target.checked ? "true" : "" })}
          />{" "}
          Flagged only
        </label>
        <label>
          Activity{" "}
          <select
            value={filters.activity}
            onChange={(e) => set({ activity: e.target.value as Filters["activity"] })}
          >
            <option value="">Any</option>
            <option value="tapped">Tapped</option>
            <option value="never">Never tapped</option>
          </select>
        </label>
        <label>
          Tag{" "}
          <select value={filters.tagId} onChange={(e) => set({ tagId: e.target.value })}>
            <option value="">Any</option>
            {tags.data?.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
      </form>
      {bands.items === null ? (
        <Loading what="bands" />
      ) : bands.items.length === 0 ? (
        <p>No bands match.</p>
      ) : (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Band</th>
                <th scope="col">Registrant</th>
                <th scope="col">Event</th>
                <th scope="col">Tags</th>
                <th scope="col">Flag</th>
                {editable && <th scope="col">Move to</th>}
              </tr>
            </thead>
            <tbody>
              {bands.items.map((band) => (
                <tr key={band.id}>
                  <td>
                    <code>{band.bandUid}</code>
                  </td>
                  <td>{band.registrantName._tag === "Some" ? band.registrantName.value : "—"}</td>
                  <td>{eventName(band.eventId)}</td>
                  <td>
                    {editable && tags.data !== null ? (
                      <TagPicker
                        label={band.bandUid}
                        all={tags.data}
                        chosen={band.tagIds}
                        onSave={(tagIds) =>
                          act(() =>
                            call((c) =>
                              c.bands.setTags({
                                path: { organizationId, bandId: band.id },
                                payload: { tagIds }
                              })
                            )
                          )
                        }
                      />
                    ) : (
                      band.tagIds.map(tagName).join(", ")
                    )}
                  </td>
                  <td>
                    {band.flagged ? (
                      <>
                        <span className="flag">
                          {band.flagReason._tag === "Some" ? band.flagReason.value : "flagged"}
                        </span>
                        {editable && (
                          <button
                            type="button"
                            className="quiet"
                            onClick={() =>
                              act(() =>
                                call((c) =>
                                  c.bands.resolveFlag({ path: { organizationId, bandId: band.id } })
                                )
                              )
                            }
                          >
                            Resolve
                          </button>
                        )}
                      </>
                    ) : (
                      "—"
                    )}
                  </td>
                  {editable && (
                    <td>
                      <select
                        aria-label={`Move ${band.bandUid} to event`}
                        value=""
                        onChange={(e) => {
                          // Read now: the select is controlled and shows "—" again before the call runs.
                          const target = e.target.value
                          if (target === "") return
                          act(() =>
                            call((c) =>
                              c.bands.reassign({
                                path: { organizationId, bandId: band.id },
                                payload: { eventId: EventId.make(target) }
                              })
                            )
                          )
                        }}
                      >
                        <option value="">—</option>
                        {events.data?.items
                          .filter((e) => e.id !== band.eventId)
                          .map((e) => (
                            <option key={e.id} value={e.id}>
                              {e.name}
                            </option>
                          ))}
                      </select>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {bands.more !== null && (
        <button type="button" className="quiet" onClick={bands.more}>
          Show more
        </button>
      )}
      {editable && events.data !== null && (
        <BandImport
          organizationId={organizationId}
          events={events.data.items}
          onImported={() => {
            // An import creates the tags it names.
            tags.reload()
            bands.reload()
          }}
        />
      )}
    </section>
  )
}
