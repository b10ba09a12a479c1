import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { requireUser } from "./Authorization.js"
import { SecondFactor } from "./SecondFactor.js"
import { sessionResponse } from "./SessionCookies.js"

export const TotpHandlers = HttpApiBuilder.group(TaplineApi, "totp", (handlers) =>
  Effect.gen(function* () {
    const secondFactor = yield* SecondFactor
    const { auth } = yield* AppConfig
    return handlers
      .handle("enrol", () => Effect.flatMap(requireUser, secondFactor.enrol))
      .handle("confirm", ({ payload }) =>
        Effect.flatMap(requireUser, (userId) => secondFactor.confirm(userId, payload.code))
      )
      .handle("disable", ({ payload }) =>
        Effect.flatMap(requireUser, (userId) => secondFactor.disable(userId, payload))
      )
      .handle("signIn", ({ payload }) =>
        Effect.flatMap(secondFactor.completeSignIn(payload.ticket, payload), (tokens) =>
          sessionResponse(tokens, payload.transport, auth.cookieSecure)
        )
      )
  })
)
