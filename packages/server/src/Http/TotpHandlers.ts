import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { InvalidRequest, TaplineApi, Unauthorized, type UserId } from "@tapline/domain"
import { Effect, Option } from "effect"
import { Audit } from "../Audit/Audit.js"
import { requireUser } from "../Auth/Authorization.js"
import { AuthRateLimit } from "../Auth/AuthRateLimit.js"
import { browserSessionResponse, tokensBody } from "../Auth/SessionCookies.js"
import { SignIn } from "../Auth/SignIn.js"
import { Totp } from "../Auth/Totp.js"
import { AppConfig } from "../Config/AppConfig.js"

const wrongFactor = new Unauthorized({
  message: "the code is not valid, already used, or the sign-in expired"
})

const oneFactor = (input: {
  readonly code?: string | undefined
  readonly backupCode?: string | undefined
}) =>
  (input.code === undefined) === (input.backupCode === undefined)
    ? Effect.fail(new InvalidRequest({ message: "give either code or backupCode" }))
    : Effect.succeed(input.code !== undefined ? { code: input.code } : { backupCode: input.backupCode! })

export const TotpHandlers = HttpApiBuilder.group(TaplineApi, "totp", (handlers) =>
  Effect.gen(function* () {
    const totp = yield* Totp
    const signIn = yield* SignIn
    const limits = yield* AuthRateLimit
    const audit = yield* Audit
    const { auth } = yield* AppConfig

    /** A second-factor check with the lockout around it; failures are counted and audited. */
    const checkFactor = (userId: UserId, factor: { code: string } | { backupCode: string }, action: string) =>
      Effect.gen(function* () {
        yield* limits.ensureNotLocked(userId)
        const valid = yield* Effect.orDie(totp.verifySecondFactor(userId, factor))
        const kind = "code" in factor ? "totp" : "backup_code"
        if (!valid) {
          yield* limits.recordFailure(userId)
          yield* audit.record({
            organizationId: null,
            actor: { type: "user", id: userId },
            action: `${action}.failed`,
            resourceType: "user",
            resourceId: userId,
            newValues: { factor: kind }
          })
          return yield* Effect.fail(wrongFactor)
        }
        yield* limits.clearFailures(userId)
        return kind
      })

    return handlers
      .handle("enrol", () =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          yield* limits.attempt("totp-enrol")
          const enrolment = yield* totp.enrol(userId).pipe(Effect.catchTag("SqlError", Effect.die))
          yield* audit.record({
            organizationId: null,
            action: "totp.enrol_start",
            resourceType: "user",
            resourceId: userId
          })
          return enrolment
        })
      )
      .handle("confirm", ({ payload }) =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          yield* limits.attempt("totp-confirm")
          const backupCodes = yield* totp
            .confirm(userId, payload.code)
            .pipe(Effect.catchTag("SqlError", Effect.die))
          yield* audit.record({
            organizationId: null,
            action: "totp.enable",
            resourceType: "user",
            resourceId: userId
          })
          return { backupCodes }
        })
      )
      .handle("disable", ({ payload }) =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          yield* limits.attempt("totp-disable")
          yield* checkFactor(userId, yield* oneFactor(payload), "totp.disable")
          yield* Effect.orDie(totp.disable(userId))
          yield* audit.record({
            organizationId: null,
            action: "totp.disable",
            resourceType: "user",
            resourceId: userId
          })
        })
      )
      .handle("signIn", ({ payload }) =>
        Effect.gen(function* () {
          yield* limits.attempt("second-factor")
          const factor = yield* oneFactor(payload)
          const pending = yield* Effect.orDie(signIn.pendingTicket(payload.ticket))
          if (Option.isNone(pending)) return yield* Effect.fail(wrongFactor)
          const userId = pending.value.userId as UserId
          yield* checkFactor(userId, factor, "signin.second_factor")
          const tokens = yield* Effect.orDie(signIn.redeemTicket(payload.ticket))
          if (Option.isNone(tokens)) return yield* Effect.fail(wrongFactor)
          if (payload.transport === "bearer") return tokensBody(tokens.value, true)
          return yield* browserSessionResponse(tokens.value, auth.cookieSecure)
        })
      )
  })
)
