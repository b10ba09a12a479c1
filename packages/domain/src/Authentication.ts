import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import { Unauthorized } from "./Errors.js"
import { CurrentPrincipal } from "./Principal.js"

/**
 * Every admin endpoint sits behind this middleware: `Authorization: Bearer <token>` where the token is an
 * API key (`tlk_…`) or a session's access token (`tls_…`), else the browser's session cookie (changes then
 * need the `x-csrf-token` header). The server's `Auth` service is the one place a request becomes a principal.
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("Authentication", {
  failure: Unauthorized,
  provides: CurrentPrincipal,
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "An API key (`tlk_…`) or a session access token (`tls_…`)."
      )
    ),
    cookie: HttpApiSecurity.apiKey({ in: "cookie", key: "tapline_session" }).pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "The browser's session cookie; changes also need the session's `x-csrf-token` header."
      )
    )
  }
}) {}
