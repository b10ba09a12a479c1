import * as SqlClient from "@effect/sql/SqlClient"
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server"
import {
  Conflict,
  InvalidRequest,
  NotFound,
  type PasskeyId,
  Unauthorized,
  type UserId
} from "@tapline/domain"
import { DateTime, Effect, Option, Schema } from "effect"
import { Audit } from "../Audit/Audit.js"
import { Cache } from "../Cache/Cache.js"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"

/** Loaded on the first passkey request (Node keeps it after): 4 MB of heap most processes never need. */
const webauthn = () => import("@simplewebauthn/server")

export const MAX_PASSKEYS = 10

export interface PasskeyRow {
  readonly id: string
  readonly name: string
  readonly deviceType: string
  readonly backedUp: boolean
  readonly createdAt: Date
  readonly lastUsedAt: Date | null
}

const Challenge = Schema.parseJson(
  Schema.Struct({
    purpose: Schema.Literal("register", "authenticate", "setup"),
    userId: Schema.NullOr(Schema.String)
  })
)

/** The challenge the browser signed, read from its clientDataJSON (checked again by the verification). */
const challengeOf = (credential: { readonly response: Record<string, unknown> }) => {
  const clientData = credential.response.clientDataJSON
  if (typeof clientData !== "string" || clientData.length > 4000) return null
  try {
    const parsed = JSON.parse(Buffer.from(clientData, "base64url").toString("utf8")) as {
      challenge?: unknown
    }
    return typeof parsed.challenge === "string" && parsed.challenge.length <= 200 ? parsed.challenge : null
  } catch {
    return null
  }
}

/** What a verified registration proves, as stored. */
export interface VerifiedPasskey {
  readonly credential: {
    readonly id: string
    readonly publicKey: Uint8Array
    readonly counter: number
    readonly transports: Array<string>
  }
  readonly credentialDeviceType: string
  readonly credentialBackedUp: boolean
}

const refused = new Unauthorized({ message: "the passkey was not accepted, or the sign-in expired" })

/**
 * WebAuthn passkeys through @simplewebauthn/server. Challenges live in the Cache (Redis, memory when
 * embedded) for AUTH_CHALLENGE_TTL and are taken once: an expired or replayed challenge is refused. The
 * relying party is the public origin's host; the signature counter must grow, except for authenticators
 * that always report 0 (synced passkeys), as WebAuthn §6.1.1 allows.
 */
export class Passkeys extends Effect.Service<Passkeys>()("@tapline/server/Passkeys", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const cache = yield* Cache
    const audit = yield* Audit
    const config = yield* AppConfig
    const origin = publicOrigin(config)
    const rpID = origin.hostname
    const expectedOrigin = origin.origin

    const challengeKey = (challenge: string) => `auth:webauthn:${challenge}`

    type Purpose = "register" | "authenticate" | "setup"

    const remember = (challenge: string, purpose: Purpose, userId: UserId | null) =>
      cache.set(challengeKey(challenge), Schema.encodeSync(Challenge)({ purpose, userId }), {
        ttl: config.auth.challengeTtl
      })

    /** The challenge's record, removed so that nobody can use it again; none when expired or used. */
    const takeChallenge = (challenge: string | null, purpose: Purpose) =>
      Effect.gen(function* () {
        if (challenge === null) return Option.none()
        const taken = yield* cache.take(challengeKey(challenge))
        return Option.filter(
          Option.map(taken, (text) => ({ challenge, ...Schema.decodeUnknownSync(Challenge)(text) })),
          (record) => record.purpose === purpose
        )
      })

    const columns = sql`id, name, device_type, backed_up, created_at, last_used_at`

    const list = (userId: UserId) =>
      sql<PasskeyRow>`select ${columns} from passkeys where user_id = ${userId} order by created_at`

    const registrationOptions = (userId: UserId) =>
      Effect.gen(function* () {
        const [user] = yield* sql<{ email: string; name: string }>`
          select email, name from users where id = ${userId}`
        const existing = yield* sql<{ credentialId: string; transports: Array<string> }>`
          select credential_id, transports from passkeys where user_id = ${userId}`
        if (existing.length >= MAX_PASSKEYS) {
          return yield* Effect.fail(new Conflict({ message: `at most ${MAX_PASSKEYS} passkeys per user` }))
        }
        return yield* creationOptions(userId, user!, existing, "register")
      })

    const creationOptions = (
      userId: UserId,
      user: { readonly email: string; readonly name: string },
      existing: ReadonlyArray<{ readonly credentialId: string; readonly transports: Array<string> }>,
      purpose: "register" | "setup"
    ) =>
      Effect.gen(function* () {
        const options = yield* Effect.promise(async () =>
          (await webauthn()).generateRegistrationOptions({
            rpName: config.auth.relyingPartyName,
            rpID,
            userName: user.email,
            userDisplayName: user.name || user.email,
            userID: Buffer.from(userId.replace(/-/g, ""), "hex"),
            attestationType: "none",
            excludeCredentials: existing.map((row) => ({
              id: row.credentialId,
              transports: row.transports
            })),
            // Discoverable, so that sign-in needs no user name.
            authenticatorSelection: { residentKey: "required", userVerification: "preferred" }
          })
        )
        yield* remember(options.challenge, purpose, userId)
        return options
      })

    /** What the browser's attestation proves, for the challenge of `purpose`; the caller stores it. */
    const verifyRegistration = (
      credential: { readonly response: Record<string, unknown> },
      purpose: "register" | "setup"
    ) =>
      Effect.gen(function* () {
        const challenge = yield* takeChallenge(challengeOf(credential), purpose)
        if (Option.isNone(challenge)) {
          return yield* Effect.fail(new InvalidRequest({ message: "the registration expired; start again" }))
        }
        const verification = yield* Effect.tryPromise(async () =>
          (await webauthn()).verifyRegistrationResponse({
            response: credential as unknown as RegistrationResponseJSON,
            expectedChallenge: challenge.value.challenge,
            expectedOrigin,
            expectedRPID: rpID
          })
        ).pipe(
          Effect.tapError((error) => Effect.logInfo("passkey registration refused", String(error.error))),
          Effect.orElseSucceed(() => ({ verified: false as const, registrationInfo: undefined }))
        )
        const info = verification.registrationInfo
        if (!verification.verified || info === undefined) {
          return yield* Effect.fail(new InvalidRequest({ message: "the passkey could not be verified" }))
        }
        const verified: VerifiedPasskey = {
          credential: {
            id: info.credential.id,
            publicKey: info.credential.publicKey,
            counter: info.credential.counter,
            transports: [...(info.credential.transports ?? [])]
          },
          credentialDeviceType: info.credentialDeviceType,
          credentialBackedUp: info.credentialBackedUp
        }
        return { userId: challenge.value.userId as UserId | null, info: verified }
      })

    /** Stores a verified passkey, in the caller's transaction. */
    const insertVerified = (userId: UserId, info: VerifiedPasskey, name: string) =>
      Effect.gen(function* () {
        const inserted = yield* sql<PasskeyRow>`
          insert into passkeys (user_id, credential_id, public_key, counter, transports, device_type,
            backed_up, name)
          values (${userId}, ${info.credential.id}, ${Buffer.from(info.credential.publicKey)},
            ${info.credential.counter}, ${info.credential.transports}::text[],
            ${info.credentialDeviceType}, ${info.credentialBackedUp}, ${name})
          on conflict (credential_id) do nothing
          returning ${columns}`
        if (inserted[0] === undefined) {
          return yield* Effect.fail(new Conflict({ message: "this passkey is already registered" }))
        }
        yield* audit.record({
          organizationId: null,
          actor: { type: "user", id: userId },
          action: "passkey.register",
          resourceType: "passkey",
          resourceId: inserted[0].id,
          newValues: { name: inserted[0].name, deviceType: info.credentialDeviceType }
        })
        return inserted[0]
      })

    const register = (
      userId: UserId,
      credential: { readonly response: Record<string, unknown> },
      name: string | undefined
    ) =>
      Effect.gen(function* () {
        const verified = yield* verifyRegistration(credential, "register")
        if (verified.userId !== userId) {
          return yield* Effect.fail(new InvalidRequest({ message: "the registration expired; start again" }))
        }
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            // Locks the user row, so that two registrations at once cannot pass the limit together.
            yield* sql`select id from users where id = ${userId} for update`
            const [{ count }] = (yield* sql<{ count: number }>`
              select count(*)::int as count from passkeys where user_id = ${userId}`) as [{ count: number }]
            if (count >= MAX_PASSKEYS) {
              return yield* Effect.fail(
                new Conflict({ message: `at most ${MAX_PASSKEYS} passkeys per user` })
              )
            }
            return yield* insertVerified(userId, verified.info, name ?? `Passkey ${count + 1}`)
          })
        )
      })

    const authenticationOptions = Effect.gen(function* () {
      const options = yield* Effect.promise(async () =>
        (await webauthn()).generateAuthenticationOptions({ rpID, userVerification: "preferred" })
      )
      yield* remember(options.challenge, "authenticate", null)
      return options
    })

    const failed = (reason: string, userId: string | null) =>
      Effect.zipRight(
        audit.record({
          organizationId: null,
          actor: { type: userId === null ? "system" : "user", id: userId },
          action: "signin.failed",
          resourceType: "user",
          resourceId: userId,
          newValues: { method: "passkey", reason }
        }),
        Effect.fail(refused)
      )

    /** The user whose passkey made this assertion; the stored counter moves forward. */
    const authenticate = (credential: { readonly id: string; readonly response: Record<string, unknown> }) =>
      Effect.gen(function* () {
        const challenge = yield* takeChallenge(challengeOf(credential), "authenticate")
        if (Option.isNone(challenge)) return yield* failed("challenge", null)
        const [stored] = yield* sql<{
          id: string
          userId: UserId
          publicKey: Uint8Array
          counter: string
          transports: Array<string>
        }>`select id, user_id, public_key, counter, transports from passkeys where credential_id = ${credential.id}`
        if (stored === undefined) return yield* failed("unknown_credential", null)
        const verification = yield* Effect.tryPromise(async () =>
          (await webauthn()).verifyAuthenticationResponse({
            response: credential as unknown as AuthenticationResponseJSON,
            expectedChallenge: challenge.value.challenge,
            expectedOrigin,
            expectedRPID: rpID,
            credential: {
              id: credential.id,
              publicKey: new Uint8Array(stored.publicKey),
              counter: Number(stored.counter),
              transports: stored.transports as never
            }
          })
        ).pipe(Effect.either)
        if (verification._tag === "Left") {
          const message = String(verification.left.error)
          yield* Effect.logInfo("passkey assertion refused", message)
          // A counter that did not grow means a cloned authenticator (or a replayed assertion).
          return yield* failed(/counter/i.test(message) ? "counter" : "verification", stored.userId)
        }
        if (!verification.right.verified) return yield* failed("verification", stored.userId)
        // Conditional, so that two uses of one assertion cannot both move the counter.
        const moved = yield* sql`
          update passkeys set counter = ${verification.right.authenticationInfo.newCounter}, last_used_at = now()
          where id = ${stored.id} and counter = ${stored.counter}
          returning id`
        if (moved.length === 0) return yield* failed("counter", stored.userId)
        return stored.userId
      })

    const rename = (userId: UserId, id: string, name: string) =>
      Effect.gen(function* () {
        const [row] = yield* sql<PasskeyRow>`
          update passkeys set name = ${name} where id = ${id} and user_id = ${userId} returning ${columns}`
        if (row === undefined) return yield* Effect.fail(new NotFound({ resource: "passkey", id }))
        yield* audit.record({
          organizationId: null,
          action: "passkey.rename",
          resourceType: "passkey",
          resourceId: id,
          newValues: { name }
        })
        return row
      })

    const remove = (userId: UserId, id: string) =>
      Effect.gen(function* () {
        const mine = yield* sql`select 1 from passkeys where id = ${id} and user_id = ${userId}`
        if (mine.length === 0) return yield* Effect.fail(new NotFound({ resource: "passkey", id }))
        const [ways] = yield* sql<{ count: number }>`
          select (select count(*)::int from user_identities where user_id = ${userId})
               + (select count(*)::int from passkeys where user_id = ${userId}) as count`
        if ((ways?.count ?? 0) <= 1) {
          return yield* Effect.fail(
            new Conflict({
              message: "this is your only way to sign in; add another passkey or account first"
            })
          )
        }
        const removed = yield* sql`delete from passkeys where id = ${id} and user_id = ${userId} returning id`
        if (removed.length === 0) return yield* Effect.fail(new NotFound({ resource: "passkey", id }))
        yield* audit.record({
          organizationId: null,
          action: "passkey.delete",
          resourceType: "passkey",
          resourceId: id
        })
      })

    // What callers get: the API's shapes, and an unreachable database or cache as an outage (a defect, 500),
    // never as a refusal of the passkey.
    const outage = { SqlError: Effect.die, CacheError: Effect.die } as const
    return {
      list: (userId: UserId) => Effect.map(Effect.orDie(list(userId)), (rows) => rows.map(toPasskey)),
      registrationOptions: (userId: UserId) =>
        registrationOptions(userId).pipe(Effect.map(asJsonObject), Effect.catchTags(outage)),
      register: (...input: Parameters<typeof register>) =>
        register(...input).pipe(Effect.map(toPasskey), Effect.catchTags(outage)),
      authenticationOptions: Effect.map(Effect.orDie(authenticationOptions), asJsonObject),
      authenticate: (...input: Parameters<typeof authenticate>) =>
        authenticate(...input).pipe(Effect.catchTags(outage)),
      /** First run: options for a user who does not exist yet (`userId` is the one they will get). */
      setupOptions: (userId: UserId, person: { readonly email: string; readonly name: string }) =>
        creationOptions(userId, person, [], "setup").pipe(
          Effect.map(asJsonObject),
          Effect.catchTag("CacheError", Effect.die)
        ),
      /** First run: the attestation checked against a setup challenge, and the user id it was made for. */
      verifySetup: (credential: { readonly response: Record<string, unknown> }) =>
        verifyRegistration(credential, "setup").pipe(Effect.catchTag("CacheError", Effect.die)),
      insertVerified,
      rename: (...input: Parameters<typeof rename>) =>
        rename(...input).pipe(Effect.map(toPasskey), Effect.catchTag("SqlError", Effect.die)),
      remove: (...input: Parameters<typeof remove>) =>
        remove(...input).pipe(Effect.catchTag("SqlError", Effect.die))
    } as const
  })
}) {}

const toPasskey = (row: PasskeyRow) => ({
  id: row.id as PasskeyId,
  name: row.name,
  deviceType: row.deviceType,
  backedUp: row.backedUp,
  createdAt: DateTime.unsafeFromDate(row.createdAt),
  lastUsedAt: row.lastUsedAt === null ? null : DateTime.unsafeFromDate(row.lastUsedAt)
})

/** WebAuthn options go to the browser as they are; the contract types them as a JSON object. */
const asJsonObject = (options: object) => options as unknown as Record<string, unknown>
