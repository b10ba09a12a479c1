import { randomBytes } from "node:crypto"
import type { TapRecord } from "../Taps/TapRecord.js"
import type { Fired, NewMessage, QuietJourney, TriggerJourney } from "./JourneyMessageRepository.js"
import { deferred } from "./QuietHours.js"

/** A fresh unsubscribe token: 24 random bytes, the only thing the link carries. */
export const unsubscribeToken = () => randomBytes(24).toString("base64url")

const quietOf = (j: QuietJourney) =>
  j.quietStart === null || j.quietEnd === null
    ? null
    : { start: j.quietStart, end: j.quietEnd, timezone: j.timezone }

/** When a message fired at `at` is due: after the journey's delay, outside the event's quiet hours. */
export const dueAt = (at: Date, journey: QuietJourney & { readonly delayMinutes: number }) =>
  deferred(new Date(at.getTime() + journey.delayMinutes * 60_000), quietOf(journey))

/**
 * The messages a batch of taps starts: for each registered band's tap, each journey of its event whose trigger
 * it matches (any tap for `first_tap`, a tap in a window of its type for `window_tap`) and that existed when it
 * tapped. One per (journey, band) in the batch; the table's unique key keeps it to one across batches.
 */
export const fromTaps = (
  taps: ReadonlyArray<TapRecord>,
  journeys: ReadonlyArray<TriggerJourney>,
  registered: ReadonlySet<string>
): Array<NewMessage> => {
  const messages = new Map<string, NewMessage>()
  for (const tap of taps) {
    if (tap.bot || tap.bandId === null || tap.orgId === null || !registered.has(tap.bandId)) continue
    for (const journey of journeys) {
      if (journey.eventId !== tap.eventId || journey.organizationId !== tap.orgId) continue
      if (tap.at < journey.createdAt.getTime()) continue
      if (journey.trigger === "window_tap" && journey.windowType !== tap.mode) continue
      const key = `${journey.id} ${tap.bandId}`
      if (messages.has(key)) continue
      messages.set(key, {
        organizationId: tap.orgId,
        journeyId: journey.id,
        bandId: tap.bandId,
        windowUrl: tap.kind === "WINDOW" ? tap.url : null,
        dueAt: dueAt(new Date(tap.at), journey),
        unsubscribeToken: unsubscribeToken()
      })
    }
  }
  return [...messages.values()]
}

/** The message of a scheduled trigger that fired. */
export const fromFired = (fired: Fired): NewMessage => ({
  organizationId: fired.organizationId,
  journeyId: fired.journeyId,
  bandId: fired.bandId,
  windowUrl: null,
  dueAt: dueAt(new Date(fired.firedAt), fired),
  unsubscribeToken: unsubscribeToken()
})
