import { randomInt } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import { DependencyUnavailable, type Email, Unauthorized, type UserId } from "@tapline/domain"
import { Duration, Effect, Option } from "effect"
import { Changes } from "../Admin/Changes.js"
import { Audit } from "../Audit/Audit.js"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { randomToken } from "../Crypto/Tokens.js"
import { InvitationRepository } from "../Invitations/InvitationRepository.js"
import { Mailer } from "../Mail/Mailer.js"
import * as MailTemplates from "../Mail/MailTemplates.js"
import { UserRepository } from "../Users/UserRepository.js"
import { Users } from "../Users/Users.js"
import { AuthRateLimit } from "./AuthRateLimit.js"
import { EmailSignInRepository, emailKey } from "./EmailSignInRepository.js"
import { SignIn } from "./SignIn.js"

/** Unknown, used, replaced, expired, out of attempts or no account: the answer never says which. */
const refused = new Unauthorized({ message: "the link or code is not valid, already used, or expired" })

export const REQUESTED_MESSAGE =
  "If this address may sign in, a link and a code are on their way. Check your inbox (and spam folder)."

const minutes = (d: Duration.Duration) => Math.round(Duration.toMinutes(d))

/**
 * Email sign-in (DESIGN.md §6): a mailed link (`tle_` token in the URL's fragment) or a six-digit code. The
 * request does the same work for every address, account or not (a row, a mail job, an audit entry) and
 * answers the same; who the address belongs to is decided only when the link or code comes back, which
 * proves the mailbox. An address with no user signs up only when AUTH_OPEN_SIGNUP is on or an organisation
 * has invited it; either way it joins no organisation until an invitation is accepted. The end is
 * `SignIn.complete`, so TOTP is asked for as after every other sign-in.
 */
export class EmailSignIn extends Effect.Service<EmailSignIn>()("@tapline/server/EmailSignIn", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repository = yield* EmailSignInRepository
    const userRepository = yield* UserRepository
    const invitations = yield* InvitationRepository
    const users = yield* Users
    const signIn = yield* SignIn
    const limits = yield* AuthRateLimit
    const changes = yield* Changes
    const mailer = yield* Mailer
    const audit = yield* Audit
    const config = yield* AppConfig
    const { auth } = config

    const request = Effect.fn("EmailSignIn.request")(function* (email: string) {
      yield* limits.attempt("email-sign-in")
      yield* limits.attemptOn("email-sign-in-address", emailKey(email), auth.emailSignInsPerHour, "1 hour")
      const token = randomToken("tle_")
      const code = String(randomInt(0, 1_000_000)).padStart(6, "0")
      // In the fragment: a browser never sends it to a server, a proxy log or a Referer.
      const link = new URL("/sign-in", publicOrigin(config))
      link.hash = `email_token=${token}`
      yield* changes
        .transact(
          Effect.gen(function* () {
            yield* repository.replace({
              email,
              token,
              code,
              linkTtl: auth.emailLinkTtl,
              codeTtl: auth.emailCodeTtl
            })
            yield* audit.record({
              organizationId: null,
              action: "signin.email_requested",
              resourceType: "email_sign_in",
              resourceId: emailKey(email),
              newValues: { email }
            })
            yield* mailer.send(
              "email-sign-in",
              email,
              MailTemplates.emailSignIn({
                link: link.href,
                code,
                linkMinutes: minutes(auth.emailLinkTtl),
                codeMinutes: minutes(auth.emailCodeTtl)
              })
            )
          })
        )
        .pipe(
          // The key is the address and the token 256 random bits: no constraint can refuse this row.
          Effect.catchTags({ Conflict: Effect.die, InvalidRequest: Effect.die }),
          Effect.catchAll((error) =>
            Effect.zipRight(
              Effect.logWarning("sign-in email not enqueued", error.message),
              Effect.fail(
                new DependencyUnavailable({ message: "the sign-in email could not be sent; try again" })
              )
            )
          )
        )
      return { message: REQUESTED_MESSAGE }
    })

    const failed = (reason: string, email?: string) =>
      audit.record({
        organizationId: null,
        action: "signin.email.failed",
        resourceType: "email_sign_in",
        resourceId: email === undefined ? null : emailKey(email),
        newValues: { reason, ...(email === undefined ? {} : { email }) }
      })

    /** The user of a proven address: found, or created when sign-up is open to it. */
    const userFor = (email: string) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const existing = yield* userRepository.findByEmail(email as Email)
          if (Option.isSome(existing)) return Option.some(existing.value.id as UserId)
          if (!auth.openSignup && !(yield* invitations.isInvited(email))) return Option.none()
          const created = yield* users.ensure({ email }, { actorIsNewUser: true })
          return Option.some(created.id as UserId)
        })
      )

    const finish = (email: string, method: string) =>
      Effect.gen(function* () {
        const userId = yield* Effect.orDie(userFor(email))
        if (Option.isNone(userId)) {
          yield* failed("no_account", email)
          return yield* Effect.fail(refused)
        }
        return yield* signIn
          .complete(userId.value, method)
          .pipe(Effect.catchTags({ SqlError: Effect.die, CacheError: Effect.die }))
      })

    const withLink = Effect.fn("EmailSignIn.withLink")(function* (token: string) {
      yield* limits.attempt("email-link")
      const email = yield* Effect.orDie(repository.takeLink(token))
      if (email === undefined) {
        yield* failed("link")
        return yield* Effect.fail(refused)
      }
      return yield* finish(email, "email:link")
    })

    const withCode = Effect.fn("EmailSignIn.withCode")(function* (email: string, code: string) {
      yield* limits.attempt("email-code")
      const taken = yield* Effect.orDie(repository.takeCode(email, code))
      if (taken.kind !== "taken") {
        yield* failed(taken.kind === "wrong" ? "wrong_code" : "code", email)
        return yield* Effect.fail(refused)
      }
      return yield* finish(taken.email, "email:code")
    })

    return { request, withLink, withCode } as const
  }),
  dependencies: [
    EmailSignInRepository.Default,
    InvitationRepository.Default,
    UserRepository.Default,
    Mailer.Default
  ]
}) {}
