import { describe, expect, layer } from "@effect/vitest"
import { Principal, type SessionId, type UserId } from "@tapline/domain"
import { Effect, Layer } from "effect"
import { generate } from "otplib"
import { Audit } from "../src/Audit/Audit.js"
import { Account } from "../src/Auth/Account.js"
import { AuthRateLimit } from "../src/Auth/AuthRateLimit.js"
import { SecondFactor } from "../src/Auth/SecondFactor.js"
import { Sessions } from "../src/Auth/Sessions.js"
import { SignIn } from "../src/Auth/SignIn.js"
import { Totp } from "../src/Auth/Totp.js"
import { UserRepository } from "../src/Users/UserRepository.js"
import { Users } from "../src/Users/Users.js"
import { apiKeyPrincipal, auditActions, failureOf, serviceHarness } from "./support/ServiceHarness.js"

/*
 * Issue 13: the rules of a user's own account and second factor, on the services that hold them (a real
 * database, the in-memory backends, no HTTP). Sessions.test and Totp.test run the same through the API.
 */

const services = Layer.mergeAll(Account.Default, SecondFactor.Default).pipe(
  Layer.provideMerge(Layer.mergeAll(SignIn.Default, AuthRateLimit.Default, UserRepository.Default)),
  Layer.provideMerge(Layer.mergeAll(Users.Default, Sessions.Default, Totp.Default)),
  Layer.provideMerge(Audit.Default),
  Layer.provideMerge(serviceHarness)
)

let sequence = 0
const newUser = Effect.flatMap(Users, (users) =>
  users.ensure({ email: `account-${process.pid}-${++sequence}-${Date.now().toString(36)}@example.test` })
)

const sessionOf = (userId: UserId, sessionId: string) =>
  new Principal({
    actorType: "user",
    actorId: userId,
    userId,
    platformAdmin: false,
    roles: {},
    sessionId: sessionId as SessionId
  })

describe("account rules", () => {
  layer(services, { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.effect(
      "a spent refresh token that comes back ends the session and is audited; sign-out needs a session",
      () =>
        Effect.gen(function* () {
          const account = yield* Account
          const signIn = yield* SignIn
          const user = yield* newUser
          const first = yield* signIn.openSession(user.id, "passkey")

          const second = yield* account.refresh(first.refreshToken)
          expect(second.sessionId).toBe(first.sessionId)
          // The first token again, as a thief who copied it would send it: refused, and the session is over.
          expect(yield* failureOf(account.refresh(first.refreshToken))).toContain("Unauthorized")
          expect(yield* failureOf(account.refresh(second.refreshToken))).toContain("Unauthorized")
          expect(yield* auditActions(first.sessionId)).toEqual(["session.create", "session.refresh_reuse"])
          expect(yield* failureOf(account.refresh(""))).toContain("Unauthorized")

          const key = apiKeyPrincipal
          expect(yield* failureOf(account.signOut(key))).toContain("Forbidden")
          const third = yield* signIn.openSession(user.id, "passkey")
          yield* account.signOut(sessionOf(user.id, third.sessionId))
          expect(yield* auditActions(third.sessionId)).toEqual(["session.create", "session.sign_out"])
          expect((yield* account.listSessions(user.id)).map((session) => session.id)).toEqual([])
          expect(yield* failureOf(account.revokeSession(user.id, third.sessionId as SessionId))).toContain(
            "NotFound"
          )
        })
    )

    it.effect(
      "TOTP: one factor at a time; a wrong code is counted and audited; a backup code disables it",
      () =>
        Effect.gen(function* () {
          const secondFactor = yield* SecondFactor
          const account = yield* Account
          const user = yield* newUser
          const { secret } = yield* secondFactor.enrol(user.id)
          const code = yield* Effect.promise(() => generate({ secret }))
          const { backupCodes } = yield* secondFactor.confirm(user.id, code)
          expect(backupCodes).toHaveLength(10)
          expect((yield* account.me(user.id, sessionOf(user.id, "s"))).totp).toBe("enabled")

          expect(yield* failureOf(secondFactor.disable(user.id, {}))).toContain(
            "give either code or backupCode"
          )
          expect(yield* failureOf(secondFactor.disable(user.id, { code: "1", backupCode: "2" }))).toContain(
            "InvalidRequest"
          )
          expect(yield* failureOf(secondFactor.disable(user.id, { code: "000000" }))).toContain(
            "Unauthorized"
          )
          // A ticket from a sign-in that never happened is refused like a wrong code, and says nothing more.
          expect(yield* failureOf(secondFactor.completeSignIn("tlt_nothing", { code }))).toContain(
            "the code is not valid"
          )

          yield* secondFactor.disable(user.id, { backupCode: backupCodes[0]! })
          expect((yield* account.me(user.id, sessionOf(user.id, "s"))).totp).toBe("none")
          expect(yield* auditActions(user.id)).toEqual([
            "user.create",
            "totp.enrol_start",
            "totp.enable",
            "totp.disable.failed",
            "totp.disable"
          ])
        })
    )
  })
})
