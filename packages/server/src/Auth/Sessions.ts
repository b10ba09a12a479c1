import { randomBytes, timingSafeEqual } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import type { UserId } from "@tapline/domain"
import { Duration, Effect, Option } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { hashSecret, randomToken } from "../Crypto/Tokens.js"

export const ACCESS_PREFIX = "tls_"
export const REFRESH_PREFIX = "tlr_"
export const MAX_SESSIONS_PER_USER = 5

/** What a client holds after signing in or refreshing; shown once, stored only as hashes. */
export interface SessionTokens {
  readonly sessionId: string
  readonly accessToken: string
  readonly refreshToken: string
  readonly csrfToken: string
  readonly accessExpiresAt: Date
  readonly expiresAt: Date
}

export interface ActiveSession {
  readonly id: string
  readonly userId: UserId
  readonly csrfHash: Buffer
}

export interface SessionSummary {
  readonly id: string
  readonly method: string
  readonly createdAt: Date
  readonly lastUsedAt: Date
  readonly expiresAt: Date
  readonly ip: string | null
  readonly userAgent: string | null
}

/** Why a refresh was refused; `reused` means a retired refresh token came back and the session is gone. */
export type RefreshRefusal = "unknown" | "expired" | "reused"

/**
 * Sign-in sessions (DESIGN.md §6): an access token for requests, a refresh token that rotates on every use,
 * a CSRF token for cookie-authenticated changes. A session ends when revoked, when unused for the idle
 * timeout, or at its absolute expiry. A user keeps at most five: signing in a sixth time ends the oldest.
 */
export class Sessions extends Effect.Service<Sessions>()("@tapline/server/Sessions", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { auth } = yield* AppConfig
    const accessMillis = Duration.toMillis(auth.accessTtl)
    const idleSeconds = Duration.toSeconds(auth.idleTimeout)
    const absoluteMillis = Duration.toMillis(auth.absoluteTimeout)

    /** Neither revoked, nor past its absolute expiry, nor idle too long: the one definition of a live session. */
    const isLive = sql`revoked_at is null and expires_at > now()
      and last_used_at > now() - make_interval(secs => ${idleSeconds})`

    /** What sign-in and every refresh hand out anew. */
    const freshTokens = () => ({
      accessToken: randomToken(ACCESS_PREFIX),
      refreshToken: randomToken(REFRESH_PREFIX),
      csrfToken: randomBytes(24).toString("base64url"),
      accessExpiresAt: new Date(Date.now() + accessMillis)
    })

    const create = (input: {
      readonly userId: UserId
      readonly method: string
      readonly ip: string | null
      readonly userAgent: string | null
    }) =>
      Effect.gen(function* () {
        const tokens = { ...freshTokens(), expiresAt: new Date(Date.now() + absoluteMillis) }
        // The user's row lock orders concurrent sign-ins, so the limit holds under races too.
        yield* sql`select 1 from users where id = ${input.userId} for update`
        const [row] = yield* sql<{ id: string }>`
          insert into sessions (user_id, method, access_hash, access_expires_at, refresh_hash, csrf_hash,
            expires_at, ip, user_agent)
          values (${input.userId}, ${input.method}, ${hashSecret(tokens.accessToken)}, ${tokens.accessExpiresAt},
            ${hashSecret(tokens.refreshToken)}, ${hashSecret(tokens.csrfToken)}, ${tokens.expiresAt},
            ${input.ip}::inet, ${input.userAgent})
          returning id`
        yield* sql`
          update sessions set revoked_at = now(), revoked_reason = 'limit'
          where id in (
            select id from sessions where user_id = ${input.userId} and revoked_at is null
            order by created_at desc, id desc offset ${MAX_SESSIONS_PER_USER})`
        return { sessionId: row!.id, ...tokens } satisfies SessionTokens
      }).pipe(sql.withTransaction)

    /** The live session of an access token; records use at most once a minute (the idle clock). */
    const authenticate = (accessToken: string) =>
      sql<ActiveSession>`
        with found as (
          select id, user_id, csrf_hash, last_used_at from sessions
          where access_hash = ${hashSecret(accessToken)} and access_expires_at > now() and ${isLive}
        ),
        touched as (
          update sessions set last_used_at = now()
          where id in (select id from found where last_used_at < now() - interval '1 minute')
        )
        select id, user_id, csrf_hash from found`.pipe(Effect.map((rows) => Option.fromNullable(rows[0])))

    /**
     * New access and refresh tokens for a current refresh token. A retired one (already rotated) revokes
     * the session: either the client or a thief used it twice, and the session cannot tell which.
     */
    const refresh = (refreshToken: string) =>
      Effect.gen(function* () {
        const hash = hashSecret(refreshToken)
        const [current] = yield* sql<{ id: string; userId: UserId; live: boolean; expiresAt: Date }>`
          select id, user_id, expires_at, (${isLive}) as live from sessions where refresh_hash = ${hash} for update`
        if (current === undefined) {
          const [retired] = yield* sql<{ sessionId: string; userId: UserId }>`
            select r.session_id, s.user_id from session_retired_tokens r
            join sessions s on s.id = r.session_id where r.refresh_hash = ${hash}`
          if (retired === undefined)
            return { refused: "unknown" as RefreshRefusal, sessionId: null, userId: null }
          yield* revokeById(retired.sessionId, "refresh_reuse")
          return { refused: "reused" as RefreshRefusal, sessionId: retired.sessionId, userId: retired.userId }
        }
        if (!current.live)
          return { refused: "expired" as RefreshRefusal, sessionId: current.id, userId: current.userId }
        const next = freshTokens()
        yield* sql`insert into session_retired_tokens (refresh_hash, session_id) values (${hash}, ${current.id})`
        yield* sql`
          update sessions set access_hash = ${hashSecret(next.accessToken)},
            access_expires_at = ${next.accessExpiresAt}, refresh_hash = ${hashSecret(next.refreshToken)},
            csrf_hash = ${hashSecret(next.csrfToken)}, last_used_at = now()
          where id = ${current.id}`
        const tokens: SessionTokens = { sessionId: current.id, expiresAt: current.expiresAt, ...next }
        return { refused: null, tokens, sessionId: current.id, userId: current.userId }
      }).pipe(sql.withTransaction)

    const revokeById = (sessionId: string, reason: string) =>
      sql`update sessions set revoked_at = now(), revoked_reason = ${reason}
          where id = ${sessionId} and revoked_at is null`

    /** Revokes one of the user's own sessions; false when it is not theirs or already ended. */
    const revoke = (userId: UserId, sessionId: string, reason = "revoked") =>
      sql<{ id: string }>`
        update sessions set revoked_at = now(), revoked_reason = ${reason}
        where id = ${sessionId} and user_id = ${userId} and revoked_at is null returning id`.pipe(
        Effect.map((rows) => rows.length > 0)
      )

    const list = (userId: UserId) =>
      sql<SessionSummary>`
        select id, method, created_at, last_used_at, expires_at, host(ip) as ip, user_agent from sessions
        where user_id = ${userId} and ${isLive}
        order by created_at desc`

    return { create, authenticate, refresh, revoke, list, isLive } as const
  })
}) {}

/** Constant-time check of a presented CSRF token against the session's stored hash. */
export const csrfMatches = (session: ActiveSession, presented: string | undefined) => {
  if (presented === undefined || presented.length === 0 || presented.length > 200) return false
  return timingSafeEqual(hashSecret(presented), session.csrfHash)
}
