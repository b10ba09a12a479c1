import { Authentication } from "@tapline/domain"
import { Effect, Layer, Redacted } from "effect"
import { Auth } from "./Auth.js"

/** The HttpApi middleware: `Authorization: Bearer …`, else the session cookie, through the `Auth` service. */
export const layer = Layer.effect(
  Authentication,
  Effect.map(Auth, (auth) => ({
    bearer: (token) => auth.authenticate(Redacted.value(token)),
    cookie: (token) => auth.authenticateCookie(Redacted.value(token))
  }))
)
