import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Unauthorized } from "./Errors.js"
import { CurrentPrincipal } from "./Principal.js"

/**
 * Every admin endpoint sits behind this middleware: `Authorization: Bearer <token>` where the token is an
 * API key (`tlk_…`) or, once sign-in exists, a session token. The server's `Auth` service is the one place
 * a request becomes a principal.
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("Authentication", {
  failure: Unauthorized,
  provides: CurrentPrincipal,
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(OpenApi.Description, "An API key (`tlk_…`) or a session token.")
    )
  }
}) {}
