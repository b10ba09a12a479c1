import type {
  Event,
  EventId,
  HttpUrl,
  OrganizationId,
  ScheduleMode,
  TimeZone,
  WindowId
} from "@tapline/domain"
import { DateTime, Option } from "effect"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { utcToZoned, zonedToUtc } from "../time.js"
import { Field } from "../ui/Field.js"
import { TimeZonePicker } from "../ui/TimeZonePicker.js"
import { useForm } from "../ui/useForm.js"
import { useLoad } from "../ui/useLoad.js"
import { NEW_EVENT_MESSAGES } from "./Events.js"

/** What the form says of each refused value, by the payload's field. */
const MESSAGES = {
  ...NEW_EVENT_MESSAGES,
  fallbackUrl: "Enter an address starting with https:// or http://, or leave it empty.",
  venue: "Keep the venue under 200 characters.",
  address: "Keep the address under 500 characters.",
  latitude: "Enter a latitude between -90 and 90 (e.g. 38.7071), or leave it empty.",
  longitude: "Enter a longitude between -180 and 180 (e.g. -9.1355), or leave it empty.",
  estimatedAttendees: "Enter a whole number of people, 0 or more, or leave it empty.",
  manualWindowId: "Choose the window bands go to while the event is in manual mode.",
  startsAt: "Enter when the event starts, or leave it empty.",
  endsAt: "The event must end after it starts."
}

type Json = typeof Event.json.Type

/** The form's text for each setting, as typed (numbers and dates are checked when sent). */
const draftOf = (e: Json) => {
  const text = <A,>(o: Option.Option<A>) => Option.match(o, { onNone: () => "", onSome: String })
  const when = (o: Option.Option<DateTime.Utc>) =>
    Option.match(o, { onNone: () => "", onSome: (d) => utcToZoned(d.epochMillis, e.timezone) })
  return {
    name: e.name,
    fallbackUrl: text(e.fallbackUrl),
    venue: text(e.venue),
    address: text(e.address),
    latitude: text(e.latitude),
    longitude: text(e.longitude),
    estimatedAttendees: text(e.estimatedAttendees),
    timezone: e.timezone as string,
    scheduleMode: e.scheduleMode,
    manualWindowId: text(e.manualWindowId),
    assignOnFlag: e.assignOnFlag,
    autoLifecycle: e.autoLifecycle,
    startsAt: when(e.startsAt),
    endsAt: when(e.endsAt)
  }
}
type Draft = ReturnType<typeof draftOf>

/**
 * Every setting of an event (EDITOR and up), in one form: saved in one request, so the redirect changes once.
 * Empty optional fields clear the setting; dates are wall-clock times in the time zone the form shows.
 */
export const EventSettings = ({
  organizationId,
  event,
  onSaved
}: {
  readonly organizationId: OrganizationId
  readonly event: Json
  readonly onSaved: () => void
}) => {
  const eventId: EventId = event.id
  const [draft, setDraft] = useState<Draft>(() => draftOf(event))
  const [saved, setSaved] = useState(false)
  const form = useForm(MESSAGES)
  const windows = useLoad(
    () =>
      call((c) => c.windows.list({ path: { organizationId, eventId }, urlParams: { limit: 500 } })).then(
        (page) => page.items
      ),
    [organizationId, eventId]
  )
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    setSaved(false)
    setDraft((current) => ({ ...current, [key]: value }))
  }

  const save = (submitted: FormEvent) => {
    submitted.preventDefault()
    form.check()
    const number = (field: keyof typeof MESSAGES, typed: string) => {
      if (typed.trim() === "") return null
      const value = Number(typed)
      if (!Number.isFinite(value)) form.refuse(field)
      return value
    }
    const instant = (field: "startsAt" | "endsAt", typed: string) => {
      if (typed === "") return null
      const ms = zonedToUtc(typed, draft.timezone)
      if (Number.isNaN(ms)) form.refuse(field)
      return ms
    }
    const latitude = number("latitude", draft.latitude)
    const longitude = number("longitude", draft.longitude)
    const estimatedAttendees = number("estimatedAttendees", draft.estimatedAttendees)
    const startsAt = instant("startsAt", draft.startsAt)
    const endsAt = instant("endsAt", draft.endsAt)
    const manual = draft.scheduleMode === "manual"
    const bad = [latitude, longitude, estimatedAttendees, startsAt, endsAt].some((n) => Number.isNaN(n))
    if (bad) return
    if (startsAt !== null && endsAt !== null && endsAt <= startsAt) return form.refuse("endsAt")
    if (manual && draft.manualWindowId === "") return form.refuse("manualWindowId")
    const optional = (typed: string) => (typed.trim() === "" ? null : typed.trim())
    form.submit(
      () =>
        call((c) =>
          c.events.update({
            path: { organizationId, eventId },
            payload: {
              name: draft.name,
              fallbackUrl: optional(draft.fallbackUrl) as HttpUrl | null,
              venue: optional(draft.venue),
              address: optional(draft.address),
              latitude,
              longitude,
              estimatedAttendees,
              timezone: draft.timezone.trim() as TimeZone,
              scheduleMode: draft.scheduleMode,
              manualWindowId: manual ? (draft.manualWindowId as WindowId) : null,
              assignOnFlag: draft.assignOnFlag,
              autoLifecycle: draft.autoLifecycle,
              startsAt: startsAt === null ? null : DateTime.unsafeMake(startsAt),
              endsAt: endsAt === null ? null : DateTime.unsafeMake(endsAt)
            }
          })
        ),
      (updated) => {
        setDraft(draftOf(updated))
        setSaved(true)
        onSaved()
      }
    )
  }

  const text = (
    id: string,
    key: "name" | "fallbackUrl" | "venue" | "address" | "latitude" | "longitude" | "estimatedAttendees",
    label: string,
    hint?: string,
    inputMode?: "decimal" | "numeric" | "url"
  ) => (
    <Field id={id} label={label} error={form.fields[key]} hint={hint}>
      {(control) => (
        <input
          {...control}
          inputMode={inputMode}
          value={draft[key]}
          onChange={(e) => set(key, e.target.value)}
        />
      )}
    </Field>
  )

  return (
    <section aria-labelledby="settings-heading" className="panel">
      <h2 id="settings-heading">Settings</h2>
      <form aria-label="Event settings" onSubmit={save} noValidate className="settings">
        {form.error !== null && <p role="alert">{form.error}</p>}
        {text("event-name", "name", "Name")}
        {text(
          "event-fallback-url",
          "fallbackUrl",
          "Fallback URL",
          "Where bands go when no window is on; empty: the organisation's website.",
          "url"
        )}
        {text("event-venue", "venue", "Venue")}
        {text("event-address", "address", "Address")}
        <div className="pair">
          {text("event-latitude", "latitude", "Latitude", "Tells near bands from far ones.", "decimal")}
          {text("event-longitude", "longitude", "Longitude", undefined, "decimal")}
        </div>
        {text(
          "event-attendees",
          "estimatedAttendees",
          "Estimated attendees",
          "The engagement figure divides unique bands by this.",
          "numeric"
        )}
        <Field id="event-timezone" label="Time zone" error={form.fields.timezone} hint="Type to search.">
          {(control) => (
            <TimeZonePicker {...control} value={draft.timezone} onChange={(zone) => set("timezone", zone)} />
          )}
        </Field>
        <div className="pair">
          {(["startsAt", "endsAt"] as const).map((key) => (
            <Field
              key={key}
              id={key === "startsAt" ? "event-starts-at" : "event-ends-at"}
              label={key === "startsAt" ? "Starts" : "Ends"}
              error={form.fields[key]}
            >
              {(control) => (
                <input
                  {...control}
                  type="datetime-local"
                  value={draft[key]}
                  onChange={(e) => set(key, e.target.value)}
                />
              )}
            </Field>
          ))}
        </div>
        <Field id="event-schedule-mode" label="Which window is on" error={undefined}>
          {(control) => (
            <select
              {...control}
              value={draft.scheduleMode}
              onChange={(e) => set("scheduleMode", e.target.value as ScheduleMode)}
            >
              <option value="scheduled">Scheduled: by the windows’ times</option>
              <option value="manual">Manual: the window chosen below</option>
            </select>
          )}
        </Field>
        {draft.scheduleMode === "manual" && (
          <Field id="event-manual-window" label="Window on now" error={form.fields.manualWindowId}>
            {(control) => (
              <select
                {...control}
                value={draft.manualWindowId}
                onChange={(e) => set("manualWindowId", e.target.value)}
              >
                <option value="">Choose a window…</option>
                {windows.data?.map((w) => (
                  <option key={w.id} value={w.id}>
                    {w.title || w.type}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        <label className="block">
          <input
            type="checkbox"
            checked={draft.autoLifecycle}
            onChange={(e) => set("autoLifecycle", e.target.checked)}
          />{" "}
          Go live at the start and complete at the end by itself
        </label>
        <label className="block">
          <input
            type="checkbox"
            checked={draft.assignOnFlag}
            onChange={(e) => set("assignOnFlag", e.target.checked)}
          />{" "}
          Flagged bands (far from the venue) still go to this event, not to your website
        </label>
        <div className="actions">
          <button type="submit">Save settings</button>
          {saved && <span role="status">Settings saved.</span>}
        </div>
      </form>
    </section>
  )
}
