import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { type OAuthCallbackParams, ServiceUnavailable, TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { requireUser } from "./Authorization.js"
import { AuthRateLimit } from "./AuthRateLimit.js"
import { OAuthProviders } from "./OAuthProviders.js"
import { type CallbackOutcome, OAuthSignIn, STATE_COOKIE, STATE_COOKIE_PATH } from "./OAuthSignIn.js"
import { sessionCookies } from "./SessionCookies.js"

export const SIGN_IN_PAGE = "/sign-in"

export const OAuthHandlers = HttpApiBuilder.group(TaplineApi, "oauth", (handlers) =>
  Effect.gen(function* () {
    const flow = yield* OAuthSignIn
    const providers = yield* OAuthProviders
    const limits = yield* AuthRateLimit
    const { auth } = yield* AppConfig

    /** The state cookie: HttpOnly, on the OAuth routes only, as long-lived as the sign-in may take. */
    const withStateCookie = (value: string, formPost: boolean) =>
      HttpServerResponse.unsafeSetCookie(STATE_COOKIE, value, {
        httpOnly: true,
        secure: auth.cookieSecure,
        // A form post back from the provider is a cross-site POST: Lax would withhold the cookie.
        sameSite: formPost && auth.cookieSecure ? "none" : "lax",
        path: STATE_COOKIE_PATH,
        maxAge: auth.challengeTtl
      })

    const withStateCookieCleared = HttpServerResponse.unsafeSetCookie(STATE_COOKIE, "", {
      httpOnly: true,
      secure: auth.cookieSecure,
      path: STATE_COOKIE_PATH,
      maxAge: 0
    })

    const signInPage = (query: Record<string, string | undefined>, fragment?: string) => {
      const params = new URLSearchParams(
        Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined)
      ).toString()
      return `${SIGN_IN_PAGE}${params === "" ? "" : `?${params}`}${fragment === undefined ? "" : `#${fragment}`}`
    }

    const finish = (outcome: CallbackOutcome) => {
      const redirect = (location: string) =>
        HttpServerResponse.redirect(location, { status: 302, headers: { "cache-control": "no-store" } }).pipe(
          withStateCookieCleared
        )
      switch (outcome.kind) {
        case "failed":
          return Effect.succeed(redirect(signInPage({ error: outcome.reason })))
        case "linked":
          return Effect.succeed(redirect(signInPage({ linked: outcome.providerId })))
        case "signed_in": {
          const result = outcome.outcome
          if (result.kind === "second_factor") {
            // In the fragment: the page reads it, and it is never sent to a server or in a Referer.
            return Effect.succeed(
              redirect(signInPage({ invitation: outcome.invitation }, `ticket=${result.ticket}`))
            )
          }
          return Effect.map(Effect.orDie(sessionCookies(result.tokens, auth.cookieSecure)), (cookies) =>
            HttpServerResponse.mergeCookies(redirect(signInPage({ invitation: outcome.invitation })), cookies)
          )
        }
      }
    }

    const callback = (providerId: string, params: typeof OAuthCallbackParams.Type) =>
      Effect.gen(function* () {
        yield* limits.attempt("oauth-callback")
        const request = yield* HttpServerRequest.HttpServerRequest
        const outcome = yield* flow.callback(providerId, params, request.cookies[STATE_COOKIE])
        return yield* finish(outcome)
      })

    return handlers
      .handle("providers", () => Effect.orDie(providers.listPublic))
      .handle("start", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* limits.attempt("oauth-start")
          return yield* flow
            .start(
              path.providerId,
              urlParams.invitation === undefined ? {} : { invitation: urlParams.invitation }
            )
            .pipe(
              Effect.map(({ cookie, formPost, url }) =>
                HttpServerResponse.redirect(url.href, {
                  status: 302,
                  headers: { "cache-control": "no-store" }
                }).pipe(withStateCookie(cookie, formPost))
              ),
              Effect.catchTag("Refused", (refused) =>
                Effect.succeed(
                  HttpServerResponse.redirect(signInPage({ error: refused.reason }), {
                    status: 302,
                    headers: { "cache-control": "no-store" }
                  })
                )
              )
            )
        }).pipe(Effect.catchTag("SqlError", Effect.die))
      )
      .handle("callback", ({ path, urlParams }) => callback(path.providerId, urlParams))
      .handle("callbackForm", ({ path, payload }) => callback(path.providerId, payload))
      .handle("identities", () => Effect.flatMap(requireUser, flow.identities))
      .handle("link", ({ path }) =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          yield* limits.attempt("oauth-start")
          const started = yield* flow.start(path.providerId, { linkUserId: userId }).pipe(
            Effect.catchTags({
              // The provider's discovery or endpoints did not answer: theirs to fix, not a fault of ours.
              Refused: () => Effect.fail(new ServiceUnavailable({ checks: { provider: "failing" } })),
              SqlError: Effect.die
            })
          )
          return yield* HttpServerResponse.json({ url: started.url.href }).pipe(
            Effect.map(withStateCookie(started.cookie, started.formPost)),
            Effect.orDie
          )
        })
      )
      .handle("unlink", ({ path }) =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          yield* flow.unlink(userId, path.providerId).pipe(Effect.catchTag("SqlError", Effect.die))
        })
      )
  })
)
