import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type { UserId } from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { Audit } from "../Audit/Audit.js"
import { Cache } from "../Cache/Cache.js"
import { AppConfig } from "../Config/AppConfig.js"
import { hashSecret, randomToken } from "../Crypto/Tokens.js"
import { Sessions, type SessionTokens } from "./Sessions.js"
import { Totp } from "./Totp.js"

export type SignInOutcome =
  | { readonly kind: "session"; readonly tokens: SessionTokens }
  | { readonly kind: "second_factor"; readonly ticket: string }

const Ticket = Schema.parseJson(Schema.Struct({ userId: Schema.String, method: Schema.String }))

const ticketKey = (ticket: string) => `auth:ticket:${hashSecret(ticket).toString("base64url")}`

/**
 * The last step of every sign-in flow (OAuth, passkey, invitation): a user whose identity is proven gets a
 * session, unless TOTP is enabled, in which case a short-lived ticket waits for the second factor.
 */
export class SignIn extends Effect.Service<SignIn>()("@tapline/server/SignIn", {
  effect: Effect.gen(function* () {
    const sessions = yield* Sessions
    const totp = yield* Totp
    const cache = yield* Cache
    const audit = yield* Audit
    const { auth } = yield* AppConfig

    const openSession = (userId: UserId, method: string) =>
      Effect.gen(function* () {
        const request = yield* Effect.serviceOption(HttpServerRequest.HttpServerRequest)
        const userAgent = Option.match(request, {
          onNone: () => null,
          onSome: (r) => r.headers["user-agent"]?.slice(0, 500) ?? null
        })
        const tokens = yield* sessions.create({ userId, method, ip: yield* audit.requestIp, userAgent })
        yield* audit.record({
          organizationId: null,
          actor: { type: "user", id: userId },
          action: "session.create",
          resourceType: "session",
          resourceId: tokens.sessionId,
          newValues: { method }
        })
        return tokens
      })

    /** `method` names the proof for the session list and the audit: `oauth:github`, `passkey`, … */
    const complete = (userId: UserId, method: string) =>
      Effect.gen(function* () {
        if ((yield* totp.status(userId)) === "enabled") {
          const ticket = randomToken("tlt_")
          yield* cache.set(ticketKey(ticket), Schema.encodeSync(Ticket)({ userId, method }), {
            ttl: auth.challengeTtl
          })
          return { kind: "second_factor" as const, ticket }
        }
        return { kind: "session" as const, tokens: yield* openSession(userId, method) }
      })

    /** The user and method a second-factor ticket stands for, if it is still waiting. */
    const pendingTicket = (ticket: string) =>
      Effect.map(
        cache.get(ticketKey(ticket)),
        Option.map((text) => Schema.decodeUnknownSync(Ticket)(text))
      )

    /** Ends the ticket (only one caller can) and opens the session. */
    const redeemTicket = (ticket: string) =>
      Effect.gen(function* () {
        const taken = yield* cache.take(ticketKey(ticket))
        if (Option.isNone(taken)) return Option.none()
        const { userId, method } = Schema.decodeUnknownSync(Ticket)(taken.value)
        return Option.some(yield* openSession(userId as UserId, `${method}+totp`))
      })

    return { complete, pendingTicket, redeemTicket, openSession } as const
  }),
  dependencies: [Sessions.Default, Totp.Default]
}) {}
