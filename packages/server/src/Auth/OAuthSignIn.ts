import { randomBytes, timingSafeEqual } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import { Conflict, NotFound, type OAuthCallbackParams, type UserId } from "@tapline/domain"
import { generateCodeVerifier, generateState } from "arctic"
import { DateTime, Duration, Effect, Option, Schema } from "effect"
import { Audit } from "../Audit/Audit.js"
import { Cache } from "../Cache/Cache.js"
import { AppConfig } from "../Config/AppConfig.js"
import { SecretBox } from "../Crypto/SecretBox.js"
import { hashSecret } from "../Crypto/Tokens.js"
import { InvitationRepository } from "../Invitations/InvitationRepository.js"
import { Users } from "../Users/Users.js"
import { type FlowSecrets, OAuthFailure, type ProviderIdentity } from "./OAuth/OAuthProvider.js"
import { type ProblemReason, problemOf } from "./OAuth/ProviderProblems.js"
import { OAuthProviders } from "./OAuthProviders.js"
import { SignIn, type SignInOutcome } from "./SignIn.js"

/** Holds one sign-in attempt between start and callback. Scoped to the OAuth routes. */
export const STATE_COOKIE = "tapline_oauth"
export const STATE_COOKIE_PATH = "/api/v1/auth/oauth"
const STATE_AAD = "oauth-state"

const FlowState = Schema.parseJson(
  Schema.Struct({
    providerId: Schema.String,
    state: Schema.String,
    codeVerifier: Schema.String,
    nonce: Schema.String,
    /** An invitation link the sign-in started from: it may create the invited user. */
    invitation: Schema.optional(Schema.String),
    /** Set by the signed-in linking flow: the identity is attached to this user. */
    linkUserId: Schema.optional(Schema.String),
    expiresAt: Schema.Number
  })
)

/** Why a callback was refused; the sign-in page shows a message per reason. */
export type FailureReason =
  | "state"
  | "denied"
  | "provider"
  | "exchange"
  | "id_token"
  | "profile"
  | "email_unverified"
  | "no_account"
  | "identity_taken"
  | "unavailable"
  | ProblemReason

export type CallbackOutcome =
  | { readonly kind: "signed_in"; readonly outcome: SignInOutcome; readonly invitation: string | undefined }
  | { readonly kind: "linked"; readonly providerId: string }
  | { readonly kind: "failed"; readonly reason: FailureReason }

class Refused extends Schema.TaggedError<Refused>()("Refused", {
  reason: Schema.String,
  userId: Schema.optional(Schema.String),
  email: Schema.optional(Schema.String)
}) {}

const refuse = (reason: FailureReason, context: { userId?: string; email?: string | null } = {}) =>
  Effect.fail(new Refused({ reason, userId: context.userId, email: context.email ?? undefined }))

const sameText = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))

/**
 * The OAuth / OIDC sign-in flow around the providers: start (secrets into an encrypted cookie), callback
 * (state checked and accepted once, code exchanged, identity verified), then the account rules: a known
 * identity signs in; otherwise a verified email links to the user with that email, or creates the user an
 * open invitation names (or anyone, with AUTH_OPEN_SIGNUP); the signed-in linking flow attaches any identity.
 */
export class OAuthSignIn extends Effect.Service<OAuthSignIn>()("@tapline/server/OAuthSignIn", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const providers = yield* OAuthProviders
    const box = yield* SecretBox
    const cache = yield* Cache
    const audit = yield* Audit
    const users = yield* Users
    const invitations = yield* InvitationRepository
    const signIn = yield* SignIn
    const { auth } = yield* AppConfig

    /**
     * The provider could not be used (its discovery refused, unreachable or wrong): the operator reads the URL
     * and reason in the log, the ADMIN the category in the provider list, the person signing in the category.
     */
    const unusable = (providerId: string, error: unknown) =>
      Effect.gen(function* () {
        const problem = problemOf(error)
        yield* Effect.logWarning(
          `sign-in provider ${providerId} cannot be used (${problem.category}); the sign-in page says so and ` +
            "the ADMIN's provider list shows it"
        ).pipe(
          Effect.annotateLogs({
            provider: providerId,
            url: problem.url ?? "(not a fetch)",
            reason: problem.detail
          })
        )
        yield* Effect.orDie(providers.recordError(providerId, problem.category))
        return yield* new Refused({ reason: problem.reason })
      })

    /** The provider's authorization URL and the sealed state cookie value; 404 for an unknown provider. */
    const start = (providerId: string, options: { invitation?: string; linkUserId?: UserId } = {}) =>
      Effect.gen(function* () {
        const provider = yield* providers.provider(providerId)
        if (Option.isNone(provider)) {
          return yield* Effect.fail(new NotFound({ resource: "oauth-provider", id: providerId }))
        }
        const secrets: FlowSecrets = {
          state: generateState(),
          codeVerifier: generateCodeVerifier(),
          nonce: randomBytes(24).toString("base64url")
        }
        const url = yield* Effect.tryPromise({
          try: () => provider.value.authorizationUrl(secrets),
          catch: (error) => error
        }).pipe(Effect.catchAll((error) => unusable(providerId, error)))
        const sealed = box.encrypt(
          Schema.encodeSync(FlowState)({
            providerId,
            ...secrets,
            invitation: options.invitation,
            linkUserId: options.linkUserId,
            expiresAt: Date.now() + Duration.toMillis(auth.challengeTtl)
          }),
          STATE_AAD
        )
        return { url, cookie: sealed, formPost: provider.value.formPost }
      })

    const openFlowState = (
      providerId: string,
      cookie: string | undefined,
      returnedState: string | undefined
    ) =>
      Effect.gen(function* () {
        if (cookie === undefined || returnedState === undefined) return yield* refuse("state")
        const text = yield* Effect.orElse(box.decrypt(cookie, STATE_AAD), () => refuse("state"))
        const flow = yield* Effect.orElse(Schema.decode(FlowState)(text), () => refuse("state"))
        if (
          flow.providerId !== providerId ||
          flow.expiresAt < Date.now() ||
          !sameText(flow.state, returnedState)
        ) {
          return yield* refuse("state")
        }
        // Accepted once: a second callback with the same state (a replayed URL and cookie) is refused.
        const first = yield* Effect.orDie(
          cache.setIfAbsent(`auth:oauth-state:${hashSecret(flow.state).toString("base64url")}`, "1", {
            ttl: auth.challengeTtl
          })
        )
        if (!first) return yield* refuse("state")
        return flow
      })

    const createUser = (identity: ProviderIdentity & { readonly email: string }) =>
      Effect.gen(function* () {
        const user = yield* users.ensure(
          { email: identity.email, ...(identity.name ? { name: identity.name } : {}) },
          { actorIsNewUser: true }
        )
        return user.id
      })

    const linkIdentity = (providerId: string, identity: ProviderIdentity, userId: UserId, via: string) =>
      Effect.gen(function* () {
        yield* sql`
          insert into user_identities (provider_id, subject, user_id, email, last_sign_in_at)
          values (${providerId}, ${identity.subject}, ${userId}, ${identity.email}, now())`
        yield* audit.record({
          organizationId: null,
          actor: { type: "user", id: userId },
          action: "identity.link",
          resourceType: "user",
          resourceId: userId,
          newValues: { provider: providerId, email: identity.email, via }
        })
      })

    const invitedEmail = (token: string) =>
      Effect.map(invitations.findOpen(token), (row) => row?.email ?? null)

    /** The user this identity signs in as, by the account rules above, in one transaction. */
    const resolveUser = (providerId: string, identity: ProviderIdentity, flow: typeof FlowState.Type) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const [known] = yield* sql<{ userId: UserId }>`
            select user_id from user_identities
            where provider_id = ${providerId} and subject = ${identity.subject}
            for update`
          if (flow.linkUserId !== undefined) {
            const linkUserId = flow.linkUserId as UserId
            if (known !== undefined && known.userId !== linkUserId) {
              return yield* refuse("identity_taken", { userId: linkUserId, email: identity.email })
            }
            if (known === undefined) yield* linkIdentity(providerId, identity, linkUserId, "signed_in")
            return { userId: linkUserId, linked: true }
          }
          if (known !== undefined) {
            yield* sql`
              update user_identities set last_sign_in_at = now(), email = ${identity.email}
              where provider_id = ${providerId} and subject = ${identity.subject}`
            return { userId: known.userId, linked: false }
          }
          if (identity.email === null || !identity.emailVerified) {
            return yield* refuse("email_unverified", { email: identity.email })
          }
          const email = identity.email
          const [existing] = yield* sql<{ id: UserId }>`
            select id from users where lower(email) = lower(${email})`
          if (existing !== undefined) {
            yield* linkIdentity(providerId, identity, existing.id, "verified_email")
            return { userId: existing.id, linked: false }
          }
          const invited = flow.invitation === undefined ? null : yield* invitedEmail(flow.invitation)
          const admitted = invited?.toLowerCase() === email.toLowerCase() || auth.openSignup
          if (!admitted) return yield* refuse("no_account", { email })
          const userId = yield* createUser({ ...identity, email })
          yield* linkIdentity(providerId, identity, userId, invited !== null ? "invitation" : "open_signup")
          return { userId, linked: false }
        })
      )

    const callback = (
      providerId: string,
      params: typeof OAuthCallbackParams.Type,
      cookie: string | undefined
    ): Effect.Effect<CallbackOutcome> =>
      Effect.gen(function* () {
        const flow = yield* openFlowState(providerId, cookie, params.state)
        if (params.error !== undefined || params.code === undefined) return yield* refuse("denied")
        const provider = yield* Effect.flatMap(providers.provider(providerId), (found) =>
          Option.isSome(found) ? Effect.succeed(found.value) : refuse("provider")
        )
        const identity = yield* Effect.tryPromise({
          try: () => provider.identity(params.code!, flow),
          catch: (error) => error
        }).pipe(
          Effect.catchAll((error) =>
            error instanceof OAuthFailure && error.reason !== "configuration"
              ? Effect.zipRight(
                  Effect.logWarning(`OAuth sign-in with ${providerId} failed`, error.reason),
                  Effect.fail(new Refused({ reason: error.reason }))
                )
              : unusable(providerId, error)
          )
        )
        yield* Effect.orDie(providers.clearError(providerId))
        const { linked, userId } = yield* resolveUser(providerId, identity, flow)
        if (linked) return { kind: "linked" as const, providerId }
        const outcome = yield* signIn.complete(userId, `oauth:${providerId}`)
        return { kind: "signed_in" as const, outcome, invitation: flow.invitation }
      }).pipe(
        Effect.catchTag("Refused", (refused) =>
          Effect.as(
            audit.record({
              organizationId: null,
              actor: { type: refused.userId === undefined ? "system" : "user", id: refused.userId ?? null },
              action: "signin.failed",
              resourceType: "user",
              resourceId: refused.userId ?? null,
              newValues: {
                method: `oauth:${providerId}`,
                reason: refused.reason,
                email: refused.email ?? null
              }
            }),
            { kind: "failed" as const, reason: refused.reason as FailureReason }
          )
        ),
        Effect.catchTags({ SqlError: Effect.die, CacheError: Effect.die })
      )

    /** The provider accounts linked to a user, oldest first. */
    const identities = (userId: UserId) =>
      sql<{ providerId: string; email: string | null; createdAt: Date; lastSignInAt: Date | null }>`
        select provider_id, email, created_at, last_sign_in_at from user_identities
        where user_id = ${userId} order by created_at`.pipe(
        Effect.orDie,
        Effect.map((rows) =>
          rows.map((row) => ({
            providerId: row.providerId,
            email: row.email,
            createdAt: DateTime.unsafeFromDate(row.createdAt),
            lastSignInAt: row.lastSignInAt === null ? null : DateTime.unsafeFromDate(row.lastSignInAt)
          }))
        )
      )

    const unlink = (userId: UserId, providerId: string) =>
      Effect.gen(function* () {
        // The last way to sign in is kept: without it the account could only be recovered by an operator.
        const [ways] = yield* sql<{ identities: number; passkeys: number }>`
          select (select count(*)::int from user_identities where user_id = ${userId}) as identities,
                 (select count(*)::int from passkeys where user_id = ${userId}) as passkeys`
        if (ways !== undefined && ways.identities + ways.passkeys <= 1) {
          const mine = yield* sql`
            select 1 from user_identities where user_id = ${userId} and provider_id = ${providerId}`
          if (mine.length > 0) {
            return yield* Effect.fail(
              new Conflict({
                message: "this is your only way to sign in; add a passkey or another account first"
              })
            )
          }
        }
        const removed = yield* sql`
          delete from user_identities where user_id = ${userId} and provider_id = ${providerId} returning subject`
        if (removed.length === 0) {
          return yield* Effect.fail(new NotFound({ resource: "identity", id: providerId }))
        }
        yield* audit.record({
          organizationId: null,
          action: "identity.unlink",
          resourceType: "user",
          resourceId: userId,
          newValues: { provider: providerId }
        })
      })

    return { start, callback, identities, unlink } as const
  }),
  dependencies: [OAuthProviders.Default, InvitationRepository.Default]
}) {}
