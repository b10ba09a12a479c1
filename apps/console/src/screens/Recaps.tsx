import {
  CampaignId,
  CreateRecap,
  EventId,
  OrganizationId,
  Recap,
  type RecapListItem,
  RecapStreamEvent
} from "@tapline/domain"
import { DateTime, Option, Schema } from "effect"
import { type FormEvent, useEffect, useRef, useState } from "react"
import { call, endpointUrl } from "../api.js"
import { BASE, Link } from "../router.js"
import { can, useSession } from "../session.js"
import { Field } from "../ui/Field.js"
import { when } from "../ui/format.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { EventSelect } from "../ui/Selects.js"
import { postEventStream, StreamRefused } from "../ui/sse.js"
import { useEvents, useLoad } from "../ui/useLoad.js"
import { usePaged } from "../ui/usePaged.js"
import { AiUsagePanel } from "./AiUsage.js"
import { RecapView, subjectName } from "./RecapDetail.js"

type Scope = "event" | "campaign" | "organization"

const SCOPES: ReadonlyArray<readonly [Scope, string]> = [
  ["event", "An event"],
  ["campaign", "A campaign"],
  ["organization", "The organisation over dates"]
]

/** A `date` input's day as the UTC midnight starting it; none for an empty or broken one. */
const startOfDay = (value: string, plusDays = 0) => {
  const at = value === "" ? Option.none() : DateTime.make(`${value}T00:00:00Z`)
  return Option.map(at, (day) => DateTime.add(day, { days: plusDays }))
}

interface Generation {
  readonly running: boolean
  /** The text as it streams in; cleared when the first draft is dropped. */
  readonly text: string
  readonly regenerated: ReadonlyArray<string> | null
  readonly error: string | null
  readonly recap: Recap | null
}

const IDLE: Generation = { running: false, text: "", regenerated: null, error: null, recap: null }

const decodeStreamEvent = Schema.decodeUnknownOption(RecapStreamEvent)
const decodeRecap = Schema.decodeSync(Recap)
const encodeCreate = Schema.encodeSync(CreateRecap)

/**
 * AI recaps (issue 35): the organisation's recaps, newest first; an EDITOR writes a new one of an event, a
 * campaign or a date range and watches it stream in (`POST …/recaps/stream`, read with fetch: EventSource
 * cannot POST); and the month's AI usage, whose budget an OWNER sets.
 */
export const Recaps = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const editor = can(session, "EDITOR")
  const recaps = usePaged<RecapListItem>(
    (cursor) => call((c) => c.recaps.list({ path: { organizationId }, urlParams: { limit: 50, cursor } })),
    [organizationId]
  )
  const [usageVersion, setUsageVersion] = useState(0)
  const generated = () => {
    recaps.reload()
    setUsageVersion((n) => n + 1)
  }
  return (
    <section aria-labelledby="recaps-heading">
      <h1 id="recaps-heading">Recaps</h1>
      <p className="muted">
        Recaps written by a language model from Tapline's own figures; every number is checked against the
        queries it ran, and one that matches none is marked <mark>[unverified]</mark>.
      </p>
      {editor && <NewRecap organizationId={organizationId} onGenerated={generated} />}
      <h2>Recaps so far</h2>
      <ErrorNotice error={recaps.error} />
      {recaps.items === null ? (
        <Loading what="recaps" />
      ) : recaps.items.length === 0 ? (
        <p>No recaps yet.</p>
      ) : (
        <div className="scroll">
          <table aria-label="Recaps">
            <thead>
              <tr>
                <th scope="col">Written</th>
                <th scope="col">Of</th>
                <th scope="col">Range</th>
                <th scope="col">Numbers</th>
                <th scope="col">Provider</th>
                <th scope="col">Edited</th>
              </tr>
            </thead>
            <tbody>
              {recaps.items.map((recap) => (
                <tr key={recap.id}>
                  <td>{when(recap.createdAt)}</td>
                  <td>
                    <Link to={`${BASE}/recaps/${recap.id}`}>{subjectName(recap.subject)}</Link>
                  </td>
                  <td>{recap.from === null ? "All taps" : `${when(recap.from)} – ${when(recap.to)}`}</td>
                  <td data-testid="recap-grounded">{recap.grounded ? "grounded" : "unverified"}</td>
                  <td>{recap.provider}</td>
                  <td>{recap.editedAt === null ? "—" : when(recap.editedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {recaps.more !== null && (
        <button type="button" className="quiet" onClick={recaps.more}>
          More recaps
        </button>
      )}
      <AiUsagePanel organizationId={organizationId} owner={can(session, "OWNER")} version={usageVersion} />
    </section>
  )
}

const MESSAGES = {
  eventId: "Choose an event.",
  campaignId: "Choose a campaign.",
  from: "Choose the first day.",
  to: "Choose a last day on or after the first."
}

type Fields = Partial<Record<keyof typeof MESSAGES, string>>

/** The form for a new recap and the recap as it streams in, then as stored. */
const NewRecap = ({
  organizationId,
  onGenerated
}: {
  readonly organizationId: OrganizationId
  readonly onGenerated: () => void
}) => {
  const events = useEvents(organizationId)
  const campaigns = useLoad(
    () =>
      call((c) => c.campaigns.list({ path: { organizationId }, urlParams: { limit: 500, deleted: false } })),
    [organizationId]
  )
  const [scope, setScope] = useState<Scope>("event")
  const [eventId, setEventId] = useState("")
  const [campaignId, setCampaignId] = useState("")
  const [fromDay, setFromDay] = useState("")
  const [toDay, setToDay] = useState("")
  const [fields, setFields] = useState<Fields>({})
  const [generation, setGeneration] = useState<Generation>(IDLE)
  const running = useRef<AbortController | null>(null)

  // Leaving the screen stops reading; the server still stores the recap it is writing.
  useEffect(() => () => running.current?.abort(), [])

  /** The payload for the chosen scope, or the field to fix. */
  const payload = (): { readonly ok: CreateRecap } | { readonly refused: Fields } => {
    if (scope === "event") {
      // The picker shows its first event before any choice.
      const chosen = eventId || events.data?.items[0]?.id
      return chosen === undefined
        ? { refused: { eventId: MESSAGES.eventId } }
        : { ok: { eventId: EventId.make(chosen) } }
    }
    if (scope === "campaign") {
      const chosen = campaignId || campaigns.data?.items[0]?.id
      return chosen === undefined
        ? { refused: { campaignId: MESSAGES.campaignId } }
        : { ok: { campaignId: CampaignId.make(chosen) } }
    }
    const from = startOfDay(fromDay)
    // The last day is included: the range ends at the next midnight.
    const to = startOfDay(toDay, 1)
    if (Option.isNone(from)) return { refused: { from: MESSAGES.from } }
    if (Option.isNone(to) || !DateTime.lessThan(from.value, to.value)) return { refused: { to: MESSAGES.to } }
    return { ok: { from: from.value, to: to.value } }
  }

  const generate = (e: FormEvent) => {
    e.preventDefault()
    if (generation.running) return
    const chosen = payload()
    if ("refused" in chosen) return setFields(chosen.refused)
    setFields({})
    void run(chosen.ok)
  }

  const run = async (chosen: CreateRecap) => {
    const controller = new AbortController()
    running.current = controller
    setGeneration({ ...IDLE, running: true })
    const update = (change: (g: Generation) => Generation) =>
      !controller.signal.aborted && setGeneration(change)
    try {
      const messages = await postEventStream(
        endpointUrl("recaps", "stream", { organizationId }),
        encodeCreate(chosen),
        controller.signal
      )
      for await (const raw of messages) {
        // A message the contract does not name (a later addition) is skipped.
        const found = decodeStreamEvent({ event: raw.event, data: JSON.parse(raw.data) })
        if (Option.isNone(found)) continue
        const message = found.value
        if (message.event === "text") {
          update((g) => ({ ...g, text: g.text + message.data.delta }))
        } else if (message.event === "regenerating") {
          update((g) => ({ ...g, text: "", regenerated: message.data.unmatched }))
        } else if (message.event === "done") {
          const recap = decodeRecap(message.data)
          update((g) => ({ ...g, running: false, recap }))
          onGenerated()
        } else {
          update((g) => ({ ...g, running: false, error: message.data.message }))
        }
      }
      update((g) =>
        g.running ? { ...g, running: false, error: "The recap stopped before it was finished." } : g
      )
    } catch (failure) {
      if (controller.signal.aborted) return
      const error =
        failure instanceof StreamRefused ? failure.message : "The recap could not be written; try again."
      update((g) => ({ ...g, running: false, error }))
    }
  }

  const pickers = {
    event: (
      <EventSelect label="Event" events={events.data?.items ?? []} value={eventId} onChange={setEventId} />
    ),
    campaign: (
      <label>
        Campaign{" "}
        <select
          value={campaignId}
          onChange={(e) => setCampaignId(e.target.value)}
          aria-invalid={fields.campaignId !== undefined}
        >
          {(campaigns.data?.items ?? []).map((campaign) => (
            <option key={campaign.id} value={campaign.id}>
              {campaign.name}
            </option>
          ))}
        </select>
      </label>
    ),
    organization: (
      <div className="field-row">
        <Field id="recap-from" label="First day (UTC)" error={fields.from}>
          {(control) => (
            <input {...control} type="date" value={fromDay} onChange={(e) => setFromDay(e.target.value)} />
          )}
        </Field>
        <Field id="recap-to" label="Last day (UTC)" error={fields.to}>
          {(control) => (
            <input {...control} type="date" value={toDay} onChange={(e) => setToDay(e.target.value)} />
          )}
        </Field>
      </div>
    )
  }

  return (
    <section aria-labelledby="new-recap-heading" className="panel">
      <h2 id="new-recap-heading">New recap</h2>
      <ErrorNotice error={events.error ?? campaigns.error} />
      <form onSubmit={generate} noValidate aria-label="New recap">
        <fieldset className="checks">
          <legend>Of</legend>
          {SCOPES.map(([value, label]) => (
            <label key={value} className="block">
              <input
                type="radio"
                name="recap-scope"
                value={value}
                checked={scope === value}
                onChange={() => {
                  setScope(value)
                  setFields({})
                }}
              />{" "}
              {label}
            </label>
          ))}
        </fieldset>
        {pickers[scope]}
        {(fields.eventId ?? fields.campaignId) !== undefined && (
          <p className="field-error">{fields.eventId ?? fields.campaignId}</p>
        )}
        <p>
          <button type="submit" disabled={generation.running}>
            {generation.running ? "Writing…" : "Write recap"}
          </button>
        </p>
      </form>
      <ErrorNotice error={generation.error} />
      {generation.regenerated !== null && (
        <p className="warning" role="status" data-testid="recap-regenerating">
          The first draft had numbers that matched none of the queries ({generation.regenerated.join(", ")}):
          it is being written again.
        </p>
      )}
      {generation.recap !== null ? (
        <RecapView key={generation.recap.id} recap={generation.recap} organizationId={organizationId} />
      ) : (
        (generation.running || generation.text !== "") && (
          <div
            className="recap-text"
            data-testid="recap-stream"
            aria-live="polite"
            aria-busy={generation.running}
          >
            {generation.text === "" ? "Reading the figures…" : generation.text}
          </div>
        )
      )}
    </section>
  )
}
