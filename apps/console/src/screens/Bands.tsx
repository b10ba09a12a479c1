import { type BandId, type BandSort, EventId, OrganizationId, type SortOrder, TagId } from "@tapline/domain"
import { useState } from "react"
import { call } from "../api.js"
import { can, useSession } from "../session.js"
import { when } from "../ui/format.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { EventSelect } from "../ui/Selects.js"
import { useAction } from "../ui/useAction.js"
import { useEvents, useLoad } from "../ui/useLoad.js"
import { usePaged } from "../ui/usePaged.js"
import { BandFlag } from "./BandFlag.js"
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

interface Sorting {
  readonly sort: BandSort
  readonly order: SortOrder
}

/**
 * A column header that sorts the list. The API sorts (the list is paged: sorting one page in the browser would
 * show a wrong order); a second click on the same column reverses it.
 */
const SortHeader = ({
  label,
  sort,
  sorting,
  onSort
}: {
  readonly label: string
  readonly sort: BandSort
  readonly sorting: Sorting
  readonly onSort: (sorting: Sorting) => void
}) => {
  const current = sorting.sort === sort
  return (
    <th scope="col" aria-sort={current ? (sorting.order === "asc" ? "ascending" : "descending") : "none"}>
      <button
        type="button"
        className="link"
        aria-label={`Sort by ${label}`}
        onClick={() => onSort({ sort, order: current && sorting.order === "asc" ? "desc" : "asc" })}
      >
        {label}
        {current && <span aria-hidden="true">{sorting.order === "asc" ? " ▲" : " ▼"}</span>}
      </button>
    </th>
  )
}

/**
 * The organisation's bands: (EDITOR) an import above the list, filters, a list sorted by the API from its
 * headers, flags set and cleared, tags, reassignment.
 */
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
  const [sorting, setSorting] = useState<Sorting>({ sort: "created", order: "asc" })
  const [flagging, setFlagging] = useState<BandId | null>(null)
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
            tagId: filters.tagId === "" ? undefined : TagId.make(filters.tagId),
            sort: sorting.sort,
            order: sorting.order
          }
        })
      ),
    [organizationId, filters, sorting]
  )

  const { error, run } = useAction()
  const act = (change: () => Promise<unknown>) => run(change, bands.reload)
  const set = (patch: Partial<Filters>) => setFilters({ ...filters, ...patch })
  const eventName = (id: string | null) => events.data?.items.find((e) => e.id === id)?.name ?? "—"
  const tagName = (id: string) => tags.data?.find((t) => t.id === id)?.name ?? id

  return (
    <section aria-labelledby="bands-heading">
      <h1 id="bands-heading">Bands</h1>
      {/* The import comes first: a new event's list is empty until its bands are imported. */}
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
          Search{" "}
          <input
            type="search"
            maxLength={200}
            value={filters.q}
            onChange={(e) => set({ q: e.target.value })}
          />
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
          <table className="bands">
            <thead>
              <tr>
                <SortHeader label="Band" sort="bandUid" sorting={sorting} onSort={setSorting} />
                <SortHeader label="Registrant" sort="registrantName" sorting={sorting} onSort={setSorting} />
                <th scope="col">Event</th>
                <th scope="col">Tags</th>
                <SortHeader label="Last tap" sort="lastTapAt" sorting={sorting} onSort={setSorting} />
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
                  <td>{band.lastTapAt._tag === "Some" ? when(band.lastTapAt.value) : "—"}</td>
                  <td>
                    {band.flagged ? (
                      <span className="flag">
                        {band.flagReason._tag === "Some" ? band.flagReason.value : "flagged"}
                      </span>
                    ) : (
                      "—"
                    )}
                    {editable &&
                      (band.flagged ? (
                        <button
                          type="button"
                          className="quiet"
                          onClick={() =>
                            act(() =>
                              call((c) =>
                                c.bands.update({
                                  path: { organizationId, bandId: band.id },
                                  payload: { flagged: false }
                                })
                              )
                            )
                          }
                        >
                          Unflag
                        </button>
                      ) : (
                        <button
                          type="button"
                          className="quiet"
                          aria-expanded={flagging === band.id}
                          onClick={() => setFlagging(flagging === band.id ? null : band.id)}
                        >
                          Flag
                        </button>
                      ))}
                    {flagging === band.id && (
                      <BandFlag
                        organizationId={organizationId}
                        bandId={band.id}
                        bandUid={band.bandUid}
                        onCancel={() => setFlagging(null)}
                        onDone={() => {
                          setFlagging(null)
                          bands.reload()
                        }}
                      />
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
    </section>
  )
}
