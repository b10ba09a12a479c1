import * as RateLimiter from "@effect/experimental/RateLimiter"
import { Effect, Layer } from "effect"
import * as MemoryCache from "./Cache/MemoryCache.js"
import * as RedisCache from "./Cache/RedisCache.js"
import { AppConfig } from "./Config/AppConfig.js"
import * as MemoryReadModelStore from "./ReadModel/MemoryReadModelStore.js"
import * as RedisReadModelStore from "./ReadModel/RedisReadModelStore.js"
import * as Redis from "./Redis/Redis.js"
import * as RedisRateLimiterStore from "./Redis/RedisRateLimiterStore.js"
import * as LiveCounters from "./Taps/LiveCounters.js"
import * as MemoryTapPipeline from "./Taps/MemoryTapPipeline.js"
import * as RedisTapPipeline from "./Taps/RedisTapPipeline.js"
import { TapWriterStatus } from "./Taps/TapWriterStatus.js"

/**
 * Everything that lives in Redis when Redis is configured (one shared connection), or in this process's
 * memory when it is not (embedded mode, a single instance): Cache, ReadModelStore, TapRecorder, TapQueue,
 * LiveCounters, the RateLimiter's store; and the status of this process's tap writer, which readiness reports.
 */
export const layerFromConfig = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Redis.isConfigured(config.redis)
      ? Layer.mergeAll(
          RedisCache.layer,
          RedisReadModelStore.layer,
          RedisTapPipeline.recorderLayer,
          RedisTapPipeline.queueLayer,
          LiveCounters.redisLayer,
          RedisRateLimiterStore.layer
        ).pipe(Layer.provide(Redis.layer))
      : Layer.mergeAll(
          MemoryCache.layer,
          MemoryReadModelStore.layer,
          MemoryTapPipeline.layer,
          RateLimiter.layerStoreMemory
        )
  )
).pipe(Layer.merge(TapWriterStatus.Default))
