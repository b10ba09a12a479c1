import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { type PasskeyId, TaplineApi } from "@tapline/domain"
import { DateTime, Effect } from "effect"
import { requireUser } from "../Auth/Authorization.js"
import { AuthRateLimit } from "../Auth/AuthRateLimit.js"
import { type PasskeyRow, Passkeys } from "../Auth/Passkeys.js"
import { sessionResponse } from "../Auth/SessionCookies.js"
import { SignIn } from "../Auth/SignIn.js"
import { AppConfig } from "../Config/AppConfig.js"

const toPasskey = (row: PasskeyRow) => ({
  id: row.id as PasskeyId,
  name: row.name,
  deviceType: row.deviceType,
  backedUp: row.backedUp,
  createdAt: DateTime.unsafeFromDate(row.createdAt),
  lastUsedAt: row.lastUsedAt === null ? null : DateTime.unsafeFromDate(row.lastUsedAt)
})

export const PasskeysHandlers = HttpApiBuilder.group(TaplineApi, "passkeys", (handlers) =>
  Effect.gen(function* () {
    const passkeys = yield* Passkeys
    const signIn = yield* SignIn
    const limits = yield* AuthRateLimit
    const { auth } = yield* AppConfig

    return handlers
      .handle("registrationOptions", () =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          yield* limits.attempt("passkey-register")
          const options = yield* passkeys
            .registrationOptions(userId)
            .pipe(Effect.catchTags({ SqlError: Effect.die, CacheError: Effect.die }))
          return options as unknown as Record<string, unknown>
        })
      )
      .handle("register", ({ payload }) =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          yield* limits.attempt("passkey-register")
          const row = yield* passkeys
            .register(userId, payload.credential, payload.name)
            .pipe(Effect.catchTags({ SqlError: Effect.die, CacheError: Effect.die }))
          return toPasskey(row)
        })
      )
      .handle("list", () =>
        Effect.flatMap(requireUser, (userId) =>
          Effect.map(Effect.orDie(passkeys.list(userId)), (rows) => rows.map(toPasskey))
        )
      )
      .handle("rename", ({ path, payload }) =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          const row = yield* passkeys
            .rename(userId, path.passkeyId, payload.name)
            .pipe(Effect.catchTag("SqlError", Effect.die))
          return toPasskey(row)
        })
      )
      .handle("remove", ({ path }) =>
        Effect.flatMap(requireUser, (userId) =>
          passkeys.remove(userId, path.passkeyId).pipe(Effect.catchTag("SqlError", Effect.die))
        )
      )
      .handle("signInOptions", () =>
        Effect.gen(function* () {
          yield* limits.attempt("passkey-sign-in")
          const options = yield* Effect.orDie(passkeys.authenticationOptions)
          return options as unknown as Record<string, unknown>
        })
      )
      .handle("signIn", ({ payload }) =>
        Effect.gen(function* () {
          yield* limits.attempt("passkey-sign-in")
          const userId = yield* passkeys
            .authenticate(payload.credential)
            .pipe(Effect.catchTags({ SqlError: Effect.die, CacheError: Effect.die }))
          const outcome = yield* signIn
            .complete(userId, "passkey")
            .pipe(Effect.catchTags({ SqlError: Effect.die, CacheError: Effect.die }))
          if (outcome.kind === "second_factor") return { secondFactorTicket: outcome.ticket }
          return yield* sessionResponse(outcome.tokens, payload.transport, auth.cookieSecure)
        })
      )
  })
)
