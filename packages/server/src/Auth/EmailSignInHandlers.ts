import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { EmailSignIn } from "./EmailSignIn.js"
import { sessionResponse } from "./SessionCookies.js"
import type { SignInOutcome } from "./SignIn.js"

/**
 * JSON only. HttpApi would also decode a urlencoded form, which another site can post from a plain HTML
 * form without a CORS preflight: with its own mailed code, that site could sign a visitor's browser into
 * the attacker's account (login CSRF). A cross-site `fetch` with application/json needs a preflight we never
 * grant.
 */
const jsonOnly = <A, E, R>(
  handler: Effect.Effect<A, E, R>
): Effect.Effect<A | HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
    if (type === "application/json") return yield* handler
    return HttpServerResponse.unsafeJson(
      { _tag: "UnsupportedMediaType", message: "send the body as application/json" },
      { status: 415 }
    )
  })

export const EmailSignInHandlers = HttpApiBuilder.group(TaplineApi, "emailSignIn", (handlers) =>
  Effect.gen(function* () {
    const emailSignIn = yield* EmailSignIn
    const { auth } = yield* AppConfig
    const answer = (outcome: SignInOutcome, transport: "cookie" | "bearer") =>
      Effect.gen(function* () {
        if (outcome.kind === "second_factor") return { secondFactorTicket: outcome.ticket }
        return yield* sessionResponse(outcome.tokens, transport, auth.cookieSecure)
      })
    return handlers
      .handle("request", ({ payload }) => jsonOnly(emailSignIn.request(payload.email)))
      .handle("link", ({ payload }) =>
        jsonOnly(
          Effect.flatMap(emailSignIn.withLink(payload.token), (outcome) => answer(outcome, payload.transport))
        )
      )
      .handle("code", ({ payload }) =>
        jsonOnly(
          Effect.flatMap(emailSignIn.withCode(payload.email, payload.code), (outcome) =>
            answer(outcome, payload.transport)
          )
        )
      )
  })
)
