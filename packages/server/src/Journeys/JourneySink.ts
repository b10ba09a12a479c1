import { Effect, Layer } from "effect"
import * as TapSink from "../Taps/TapSink.js"
import { JourneyMessageRepository } from "./JourneyMessageRepository.js"
import { JourneyWake } from "./JourneyWake.js"
import { fromTaps } from "./Triggers.js"

/**
 * Tap-triggered journeys as a sink of the tap stream (consumer group `journeys`), never on the redirect's
 * path and never inside the PostgreSQL writer's transaction. A batch costs one query for its events' journeys
 * and, when there are any, one for which bands are registered and one insert; a redelivered batch inserts
 * nothing (the once-only key). A tap of a band the writer has not created yet (an unknown band assigned by
 * the tap) has no registrant to write to and starts nothing.
 */
export const sink: TapSink.TapSink<JourneyMessageRepository | JourneyWake> = {
  name: "journeys",
  handle: (delivery) =>
    Effect.gen(function* () {
      const repository = yield* JourneyMessageRepository
      const eventIds = [
        ...new Set(delivery.taps.flatMap((tap) => (tap.eventId === null ? [] : [tap.eventId])))
      ]
      if (eventIds.length === 0) return
      const journeys = yield* repository.tapJourneys(eventIds)
      if (journeys.length === 0) return
      const bandIds = [...new Set(delivery.taps.flatMap((tap) => (tap.bandId === null ? [] : [tap.bandId])))]
      const registered = yield* repository.registeredBands(bandIds)
      const queued = yield* repository.enqueue(fromTaps(delivery.taps, journeys, registered))
      if (queued > 0) yield* (yield* JourneyWake).wake
    }).pipe(Effect.withSpan("JourneySink.handle", { attributes: { taps: delivery.taps.length } }))
}

export const layer = TapSink.layer(sink).pipe(Layer.provide(JourneyMessageRepository.Default))
