import * as HttpApiError from "@effect/platform/HttpApiError"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"

/*
 * A decode error's message quotes the value it refused (`actual "…"`): a 2 MB name came back whole in the
 * 400, and any secret a caller put in the wrong field with it. Messages and paths are cut to a length that
 * still says what was wrong.
 */

export const MAX_ISSUE_TEXT = 300

const clip = (text: string) =>
  text.length <= MAX_ISSUE_TEXT ? text : `${text.slice(0, MAX_ISSUE_TEXT)}… (${text.length} characters)`

/** The body the API would have sent (`_tag`, `issues`, `message`), with its texts cut. */
const shortened = (error: HttpApiError.HttpApiDecodeError) =>
  HttpServerResponse.unsafeJson(
    {
      _tag: error._tag,
      message: clip(error.message),
      issues: error.issues.slice(0, 20).map((issue) => ({
        _tag: issue._tag,
        path: issue.path.map((segment) => (typeof segment === "string" ? clip(segment) : segment)),
        message: clip(issue.message)
      }))
    },
    { status: 400 }
  )

export const shortDecodeErrors = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.catchIf(
    app,
    (error): error is E & HttpApiError.HttpApiDecodeError => error instanceof HttpApiError.HttpApiDecodeError,
    (error) => Effect.succeed(shortened(error))
  )
