import { expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { AppConfig } from "../src/Config/AppConfig.js"
import { gauge, Metrics, layer as metricsLayer, scrape } from "../src/Telemetry/Metrics.js"

/*
 * A scrape-time gauge reads Redis or PostgreSQL. A read that never answers (a hung Redis; one reconnecting
 * takes seconds) must not hold the scrape past Prometheus's timeout: the gauge keeps its last value.
 */

const MetricsLive = metricsLayer.pipe(
  Layer.provide(AppConfig.layer),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["LOG_LEVEL", "WARN"]]))))
)

it.scoped(
  "a gauge whose read hangs or fails keeps its last value, and the scrape answers",
  () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      let hungReads = 0
      let failingReads = 0
      yield* gauge(metrics, {
        name: "test_hung_gauge",
        help: "answers once, then never",
        read: () => (++hungReads === 1 ? Promise.resolve(5) : new Promise<number>(() => {}))
      })
      yield* gauge(metrics, {
        name: "test_failing_gauge",
        help: "answers once, then fails",
        read: () => (++failingReads === 1 ? Promise.resolve(7) : Promise.reject(new Error("ECONNREFUSED")))
      })
      const first = yield* scrape(metrics)
      expect(first).toMatch(/^test_hung_gauge 5$/m)
      expect(first).toMatch(/^test_failing_gauge 7$/m)
      const second = yield* scrape(metrics)
      expect(second).toMatch(/^test_hung_gauge 5$/m)
      expect(second).toMatch(/^test_failing_gauge 7$/m)
      expect([hungReads, failingReads]).toEqual([2, 2])
    }).pipe(Effect.provide(MetricsLive)),
  20_000
)
