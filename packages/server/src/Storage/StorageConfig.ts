import { Config } from "effect"
import * as S3Storage from "./S3Storage.js"

/*
 * The port's own setting: which provider. Each provider reads its own variables (STORAGE_LOCAL_DIR,
 * STORAGE_S3_*) in its file, and only when STORAGE_PROVIDER names it.
 */

/** The names STORAGE_PROVIDER takes; `providers.ts` has one row for each. */
export const STORAGE_PROVIDERS = ["local", "s3"] as const
export type StorageProviderName = (typeof STORAGE_PROVIDERS)[number]

/** local: a folder on this machine (one instance); s3: S3 or an S3-compatible service. */
export const provider = Config.literal(...STORAGE_PROVIDERS)("STORAGE_PROVIDER").pipe(
  Config.withDefault("local" as StorageProviderName)
)

/** The port's settings, mounted in AppConfig as `storage`. */
export const config = Config.all({ provider })

/**
 * Where browsers send uploads (presigned PUTs): this origin for local storage, the S3 endpoint otherwise.
 * The console names it in its content security policy.
 */
export const uploadTarget = Config.all({ provider, endpoint: S3Storage.endpointConfig })
