import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { CurrentPrincipal, TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { Account } from "./Account.js"
import { requireUser } from "./Authorization.js"
import { clearedCookies, REFRESH_COOKIE, sessionResponse } from "./SessionCookies.js"

export const SessionsHandlers = HttpApiBuilder.group(TaplineApi, "sessions", (handlers) =>
  Effect.gen(function* () {
    const account = yield* Account
    const { auth } = yield* AppConfig
    return handlers
      .handle("me", () =>
        Effect.flatMap(Effect.zip(requireUser, CurrentPrincipal), ([id, by]) => account.me(id, by))
      )
      .handle("list", () => Effect.flatMap(requireUser, account.listSessions))
      .handle("revoke", ({ path }) =>
        Effect.flatMap(requireUser, (userId) => account.revokeSession(userId, path.sessionId))
      )
      .handle("signOut", () =>
        Effect.gen(function* () {
          yield* account.signOut(yield* CurrentPrincipal)
          const cookies = yield* Effect.orDie(clearedCookies(auth.cookieSecure))
          return HttpServerResponse.empty({ status: 204 }).pipe(HttpServerResponse.mergeCookies(cookies))
        })
      )
      .handle("refresh", ({ payload }) =>
        Effect.gen(function* () {
          // An API client sends its refresh token in the body and gets tokens back; a browser has the cookie.
          const request = yield* HttpServerRequest.HttpServerRequest
          const tokens = yield* account.refresh(payload.refreshToken ?? request.cookies[REFRESH_COOKIE])
          return yield* sessionResponse(
            tokens,
            payload.refreshToken !== undefined ? "bearer" : "cookie",
            auth.cookieSecure
          )
        })
      )
  })
)
