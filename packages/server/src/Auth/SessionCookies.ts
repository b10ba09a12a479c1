import * as Cookies from "@effect/platform/Cookies"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { type SessionId, SessionTokens as SessionTokensSchema } from "@tapline/domain"
import { DateTime, Effect, Schema } from "effect"
import { SESSION_COOKIE } from "./Auth.js"
import type { SessionTokens } from "./Sessions.js"

export const REFRESH_COOKIE = "tapline_refresh"
/** Readable by the page's script, which echoes it in the x-csrf-token header; worthless to another site. */
export const CSRF_COOKIE = "tapline_csrf"

/** The refresh cookie goes only to the refresh endpoint, so ordinary requests never carry it. */
const REFRESH_PATH = "/api/v1/auth/refresh"

/** The three cookies of a browser session: which token each carries, and its flags. */
const cookieSpecs = [
  { name: SESSION_COOKIE, token: "accessToken", httpOnly: true, sameSite: "lax", path: "/" },
  { name: REFRESH_COOKIE, token: "refreshToken", httpOnly: true, sameSite: "strict", path: REFRESH_PATH },
  { name: CSRF_COOKIE, token: "csrfToken", httpOnly: false, sameSite: "strict", path: "/" }
] as const

const cookies = (
  value: (spec: (typeof cookieSpecs)[number]) => string,
  lifetime: { readonly expires: Date } | { readonly maxAge: 0 },
  secure: boolean
) =>
  Cookies.fromIterable([]).pipe(
    Cookies.setAll(
      cookieSpecs.map(
        (spec) =>
          [
            spec.name,
            value(spec),
            { httpOnly: spec.httpOnly, sameSite: spec.sameSite, path: spec.path, secure, ...lifetime }
          ] as const
      )
    )
  )

export const sessionCookies = (tokens: SessionTokens, secure: boolean) =>
  cookies((spec) => tokens[spec.token], { expires: tokens.expiresAt }, secure)

/** Expires the three cookies (same names, paths and flags, Max-Age 0). */
export const clearedCookies = (secure: boolean) => cookies(() => "", { maxAge: 0 }, secure)

/** What the body shows: tokens only to an API client, the CSRF token and expiries to everyone. */
export const tokensBody = (tokens: SessionTokens, includeSecrets: boolean) => ({
  sessionId: tokens.sessionId as SessionId,
  ...(includeSecrets ? { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken } : {}),
  csrfToken: tokens.csrfToken,
  accessExpiresAt: DateTime.unsafeFromDate(tokens.accessExpiresAt),
  expiresAt: DateTime.unsafeFromDate(tokens.expiresAt)
})

const encodeTokens = Schema.encode(SessionTokensSchema)

/** A browser's answer: the body without secrets, the tokens as cookies. */
export const browserSessionResponse = (tokens: SessionTokens, secure: boolean) =>
  Effect.flatMap(Effect.orDie(sessionCookies(tokens, secure)), (cookies) =>
    encodeTokens(tokensBody(tokens, false)).pipe(
      Effect.flatMap((body) => HttpServerResponse.json(body)),
      Effect.map(HttpServerResponse.mergeCookies(cookies)),
      Effect.orDie
    )
  )

/** A finished sign-in's answer: tokens in the body for an API client (`bearer`), cookies for a browser. */
export const sessionResponse = (
  tokens: SessionTokens,
  transport: "bearer" | "cookie" | undefined,
  secure: boolean
) =>
  Effect.suspend(() =>
    transport === "bearer"
      ? Effect.succeed<ReturnType<typeof tokensBody> | HttpServerResponse.HttpServerResponse>(
          tokensBody(tokens, true)
        )
      : browserSessionResponse(tokens, secure)
  )
