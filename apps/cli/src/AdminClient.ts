import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { TaplineApi } from "@tapline/domain"
import { Config, Context, Effect, Layer, Redacted } from "effect"

/** TAPLINE_URL (default http://localhost:3000) and TAPLINE_API_KEY say where and as whom. */
const make = Effect.gen(function* () {
  const baseUrl = yield* Config.string("TAPLINE_URL").pipe(Config.withDefault("http://localhost:3000"))
  const key = yield* Config.redacted("TAPLINE_API_KEY").pipe(
    Effect.mapError(
      () =>
        new Error(
          "TAPLINE_API_KEY is not set: this command calls the admin API with an API key (`pnpm tapline admin:bootstrap` prints a platform ADMIN's)"
        )
    )
  )
  return yield* HttpApiClient.make(TaplineApi, {
    baseUrl,
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(Redacted.value(key)))
  })
})

/** The admin API's typed client, derived from the contract in @tapline/domain. */
export class AdminClient extends Context.Tag("@tapline/cli/AdminClient")<
  AdminClient,
  Effect.Effect.Success<typeof make>
>() {}

export const layer = Layer.effect(AdminClient, make).pipe(Layer.provide(FetchHttpClient.layer))
