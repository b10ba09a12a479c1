import { Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import * as Redis from "../Redis/Redis.js"
import * as MemoryCache from "./MemoryCache.js"
import * as RedisCache from "./RedisCache.js"

/** Redis when it is configured, memory otherwise (a single embedded instance). */
export const layerFromConfig = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Redis.isConfigured(config.redis) ? RedisCache.layer.pipe(Layer.provide(Redis.layer)) : MemoryCache.layer
  )
)
