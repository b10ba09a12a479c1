import { Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import * as LocalStorage from "./LocalStorage.js"
import * as S3Storage from "./S3Storage.js"
import type { Storage } from "./Storage.js"
import type { StorageProviderName } from "./StorageConfig.js"

/**
 * The registry: each name STORAGE_PROVIDER takes, and its layer built from its own variables. A new provider
 * is one file here and one row below (and its name in StorageConfig's list).
 */
export const providers = {
  local: LocalStorage.layerConfig,
  s3: S3Storage.layerConfig
} satisfies Record<StorageProviderName, Layer.Layer<Storage, unknown, AppConfig>>

/** The provider STORAGE_PROVIDER names (a folder under the data folder by default); its SDK loads only now. */
export const layerConfig = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ storage }) => providers[storage.provider])
)
