import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { requireUser } from "./Authorization.js"
import { AuthRateLimit } from "./AuthRateLimit.js"
import { Passkeys } from "./Passkeys.js"
import { sessionResponse } from "./SessionCookies.js"
import { SignIn } from "./SignIn.js"

export const PasskeysHandlers = HttpApiBuilder.group(TaplineApi, "passkeys", (handlers) =>
  Effect.gen(function* () {
    const passkeys = yield* Passkeys
    const signIn = yield* SignIn
    const limits = yield* AuthRateLimit
    const { auth } = yield* AppConfig
    return handlers
      .handle("registrationOptions", () =>
        Effect.flatMap(requireUser, (userId) =>
          Effect.zipRight(limits.attempt("passkey-register"), passkeys.registrationOptions(userId))
        )
      )
      .handle("register", ({ payload }) =>
        Effect.flatMap(requireUser, (userId) =>
          Effect.zipRight(
            limits.attempt("passkey-register"),
            passkeys.register(userId, payload.credential, payload.name)
          )
        )
      )
      .handle("list", () => Effect.flatMap(requireUser, passkeys.list))
      .handle("rename", ({ path, payload }) =>
        Effect.flatMap(requireUser, (userId) => passkeys.rename(userId, path.passkeyId, payload.name))
      )
      .handle("remove", ({ path }) =>
        Effect.flatMap(requireUser, (userId) => passkeys.remove(userId, path.passkeyId))
      )
      .handle("signInOptions", () =>
        Effect.zipRight(limits.attempt("passkey-sign-in"), passkeys.authenticationOptions)
      )
      .handle("signIn", ({ payload }) =>
        Effect.gen(function* () {
          yield* limits.attempt("passkey-sign-in")
          const userId = yield* passkeys.authenticate(payload.credential)
          const outcome = yield* signIn
            .complete(userId, "passkey")
            .pipe(Effect.catchTags({ SqlError: Effect.die, CacheError: Effect.die }))
          if (outcome.kind === "second_factor") return { secondFactorTicket: outcome.ticket }
          return yield* sessionResponse(outcome.tokens, payload.transport, auth.cookieSecure)
        })
      )
  })
)
