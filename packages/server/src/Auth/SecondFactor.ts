import { InvalidRequest, Unauthorized, type UserId } from "@tapline/domain"
import { Effect, Option } from "effect"
import { Audit } from "../Audit/Audit.js"
import { AuthRateLimit } from "./AuthRateLimit.js"
import { SignIn } from "./SignIn.js"
import { Totp } from "./Totp.js"

/** One factor: a code from the authenticator app, or one of the backup codes. */
export type Factor = { readonly code: string } | { readonly backupCode: string }

const wrongFactor = new Unauthorized({
  message: "the code is not valid, already used, or the sign-in expired"
})

/** What a request gives: it must name exactly one of `code` and `backupCode`. */
export interface FactorInput {
  readonly code?: string | undefined
  readonly backupCode?: string | undefined
}

const oneFactor = (input: FactorInput): Effect.Effect<Factor, InvalidRequest> =>
  (input.code === undefined) === (input.backupCode === undefined)
    ? Effect.fail(new InvalidRequest({ message: "give either code or backupCode" }))
    : Effect.succeed(input.code !== undefined ? { code: input.code } : { backupCode: input.backupCode! })

/**
 * TOTP as a user manages it and as sign-in asks for it (DESIGN.md §6): enrolment, confirmation, disabling
 * with a factor, and the second step of a sign-in. Each is rate limited; a wrong factor counts towards the
 * user's lockout and is audited; every change is audited. `Totp` keeps the factors themselves.
 */
export class SecondFactor extends Effect.Service<SecondFactor>()("@tapline/server/SecondFactor", {
  effect: Effect.gen(function* () {
    const totp = yield* Totp
    const signIn = yield* SignIn
    const limits = yield* AuthRateLimit
    const audit = yield* Audit

    const audited = (userId: UserId, action: string, newValues?: Record<string, unknown>) =>
      audit.record({ organizationId: null, action, resourceType: "user", resourceId: userId, newValues })

    /** A second-factor check with the lockout around it; failures are counted and audited as the user's. */
    const check = Effect.fn("SecondFactor.check")(function* (userId: UserId, factor: Factor, action: string) {
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
    })

    const enrol = Effect.fn("SecondFactor.enrol")(function* (userId: UserId) {
      yield* limits.attempt("totp-enrol")
      const enrolment = yield* totp.enrol(userId).pipe(Effect.catchTag("SqlError", Effect.die))
      yield* audited(userId, "totp.enrol_start")
      return enrolment
    })

    const confirm = Effect.fn("SecondFactor.confirm")(function* (userId: UserId, code: string) {
      yield* limits.attempt("totp-confirm")
      const backupCodes = yield* totp.confirm(userId, code).pipe(Effect.catchTag("SqlError", Effect.die))
      yield* audited(userId, "totp.enable")
      return { backupCodes }
    })

    const disable = Effect.fn("SecondFactor.disable")(function* (userId: UserId, input: FactorInput) {
      yield* limits.attempt("totp-disable")
      yield* check(userId, yield* oneFactor(input), "totp.disable")
      yield* Effect.orDie(totp.disable(userId))
      yield* audited(userId, "totp.disable")
    })

    /** The second step of a sign-in: the ticket's user gives a factor and gets the session's tokens. */
    const completeSignIn = Effect.fn("SecondFactor.completeSignIn")(function* (
      ticket: string,
      input: FactorInput
    ) {
      yield* limits.attempt("second-factor")
      const factor = yield* oneFactor(input)
      const pending = yield* Effect.orDie(signIn.pendingTicket(ticket))
      if (Option.isNone(pending)) return yield* Effect.fail(wrongFactor)
      yield* check(pending.value.userId as UserId, factor, "signin.second_factor")
      const tokens = yield* Effect.orDie(signIn.redeemTicket(ticket))
      if (Option.isNone(tokens)) return yield* Effect.fail(wrongFactor)
      return tokens.value
    })

    return { enrol, confirm, disable, completeSignIn } as const
  })
}) {}
