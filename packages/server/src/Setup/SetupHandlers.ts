import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { AuthRateLimit } from "../Auth/AuthRateLimit.js"
import { sessionResponse } from "../Auth/SessionCookies.js"
import { AppConfig } from "../Config/AppConfig.js"
import { Setup } from "./Setup.js"

/** Public routes: the setup link's token is the credential, and rate limits apply as on every sign-in. */
export const SetupHandlers = HttpApiBuilder.group(TaplineApi, "setup", (handlers) =>
  Effect.gen(function* () {
    const setup = yield* Setup
    const limits = yield* AuthRateLimit
    const { auth } = yield* AppConfig
    return handlers
      .handle("status", () => setup.status)
      .handle("registrationOptions", ({ payload }) =>
        Effect.zipRight(limits.attempt("setup"), setup.registrationOptions(payload))
      )
      .handle("complete", ({ payload }) =>
        Effect.gen(function* () {
          yield* limits.attempt("setup")
          const tokens = yield* setup.complete(payload)
          const response = yield* sessionResponse(tokens, payload.transport, auth.cookieSecure)
          return HttpServerResponse.isServerResponse(response)
            ? HttpServerResponse.setStatus(response, 201)
            : response
        })
      )
  })
)
