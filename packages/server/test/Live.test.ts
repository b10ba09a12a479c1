import { describe, expect, layer } from "@effect/vitest"
import { type EventId, type OrganizationId, Principal } from "@tapline/domain"
import { Chunk, Effect, Layer, Option, Stream } from "effect"
import { ApiKeyRepository } from "../src/Auth/ApiKeys.js"
import { Live, type LiveMessage, resumeFrom } from "../src/Live/Live.js"
import { TapRecorder } from "../src/Taps/TapRecorder.js"
import { failureOf, onPrivateRedis, PrivateRedis, serviceHarnessWith } from "./support/ServiceHarness.js"
import { clearOfMinuteEnd, show, tapOf, tenant } from "./support/TapFixtures.js"

/*
 * The live view's service on the Redis pipeline (the console's Live screen reads it through the stream
 * endpoint): taps recorded reach the stream's counts and tap list; another organisation's event is not
 * found; when Redis cannot be read the viewer is told so, not shown zeros, and the stream carries on.
 */

const services = onPrivateRedis((url) =>
  Layer.merge(Live.Default, ApiKeyRepository.Default).pipe(
    Layer.provideMerge(serviceHarnessWith({ REDIS_URL: url }))
  )
)

/** A VIEWER key of the organisation as the caller: the stream checks it again at every tick. */
const viewer = (organizationId: OrganizationId) =>
  Effect.gen(function* () {
    const keys = yield* ApiKeyRepository
    const { key } = yield* Effect.orDie(
      keys.create({
        organizationId,
        userId: null,
        name: "live",
        role: "VIEWER",
        expiresAt: Option.none(),
        createdBy: null
      })
    )
    return new Principal({
      actorType: "api_key",
      actorId: key.id,
      userId: null,
      platformAdmin: false,
      roles: { [organizationId]: "VIEWER" } as Principal["roles"]
    })
  })

/** The stream's ticks until one satisfies `done`: each tick is one second's messages. */
const ticksUntil = (
  ticks: Stream.Stream<ReadonlyArray<LiveMessage>>,
  done: (tick: ReadonlyArray<LiveMessage>) => boolean
) =>
  Effect.map(
    Stream.runCollect(Stream.takeUntil(ticks, done)),
    (collected) => Chunk.toReadonlyArray(collected).at(-1)!
  )

describe("live service", () => {
  layer(services, { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect(
      "recorded taps reach the stream; another organisation's event is not found; Redis down is said",
      () =>
        Effect.gen(function* () {
          const live = yield* Live
          const recorder = yield* TapRecorder
          const t = yield* tenant({ events: [{ status: "ACTIVE", windows: show("live") }] })
          const other = yield* tenant({ events: [{ status: "ACTIVE" }] })
          const organizationId = t.orgId as OrganizationId
          const eventId = t.eventIds[0]! as EventId
          const caller = yield* viewer(organizationId)

          expect(
            yield* failureOf(live.stream(caller, organizationId, other.eventIds[0]! as EventId))
          ).toContain("NotFound")
          expect(yield* failureOf(live.summary(organizationId, other.eventIds[0]! as EventId))).toContain(
            "NotFound"
          )

          const ticks = yield* live.stream(caller, organizationId, eventId)
          // The counts are this minute's: taps recorded in a minute's last seconds would never reach 3.
          yield* clearOfMinuteEnd()
          for (const band of ["L-1", "L-2", "L-3"]) recorder.record(tapOf(t, band, { mode: "LIVE" }))
          const counted = yield* ticksUntil(ticks, (tick) =>
            tick.some((message) => message.event === "counts" && message.data.taps === 3)
          )
          expect(counted).toContainEqual(
            expect.objectContaining({ event: "counts", data: expect.objectContaining({ uniqueBands: 3 }) })
          )
          expect((yield* live.summary(organizationId, eventId)).tapsThisMinute).toBeGreaterThanOrEqual(3)

          // Each tick's counts say where the viewer is; a reconnect from there gets the minute it missed (at
          // most) and none of the taps it had. The newest tap so far is L-3's.
          const position = counted.find((message) => message.event === "counts")!
          const [second, tapId] = ("id" in position ? position.id : "").split("/")
          expect(Number(second)).toBeGreaterThan(0)
          const resumed = yield* live.stream(
            caller,
            organizationId,
            eventId,
            resumeFrom(`${Number(second) - 30}/${tapId}`)
          )
          const replay = yield* ticksUntil(resumed, () => true)
          const replayed = replay.flatMap((message) =>
            message.event === "taps" ? [message.data.second] : []
          )
          expect(replayed[0]).toBe(Number(second) - 29)
          expect(replayed.length).toBeGreaterThanOrEqual(30)
          expect(replay.filter((message) => message.event === "tap")).toEqual([])
          // Without a position (or with one that is not ours), the viewer starts afresh with the latest taps.
          const fresh = yield* ticksUntil(
            yield* live.stream(caller, organizationId, eventId, resumeFrom("not/a position")),
            () => true
          )
          expect(fresh.filter((message) => message.event === "tap")).toHaveLength(3)

          const redis = yield* PrivateRedis
          yield* Effect.promise(() => redis.kill())
          const down = yield* ticksUntil(ticks, (tick) =>
            tick.some((message) => message.event === "unavailable")
          )
          expect(down).toEqual([
            { event: "unavailable", data: { message: expect.stringContaining("Redis") } }
          ])
          yield* Effect.promise(() => redis.start())
          // Back, and empty: the stream reads again (zeros now are the truth, not an outage).
          const back = yield* ticksUntil(ticks, (tick) => tick.some((message) => message.event === "counts"))
          expect(back.some((message) => message.event === "unavailable")).toBe(false)
        })
    )
  })
})
