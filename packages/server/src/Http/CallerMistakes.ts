import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import { dataExceptionError, isDataException } from "../Admin/Constraints.js"

/**
 * A body that does not parse as the JSON its content type claims: the platform reads it as a defect (an
 * empty 400); the caller gets the contract's InvalidRequest, which says what was wrong.
 */
const isUnparsableBody = (defect: unknown) =>
  defect instanceof HttpServerError.RequestError && defect.reason === "Decode"

const badRequest = (message: string) =>
  HttpServerResponse.json({ _tag: "InvalidRequest", message }, { status: 400 }).pipe(Effect.orDie)

/**
 * Input PostgreSQL refuses as data (SQLSTATE class 22) on a read path is still the caller's mistake: 400,
 * not the 500 a defect would become; so is a body that is not JSON. Every other defect stays a 500. It is an
 * API-level middleware because only there does it run before errors become responses (a middleware given to
 * `serve` sees them after).
 */
export const callerMistakesAsBadRequest = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.catchAllDefect(app, (defect) => {
    if (isDataException(defect)) return badRequest(dataExceptionError.message)
    if (isUnparsableBody(defect)) return badRequest("the request body is not valid JSON")
    return Effect.die(defect)
  })
