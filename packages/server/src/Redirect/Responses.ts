import type { ServerResponse } from "node:http"
import type { UtmValues } from "../Taps/TapRecord.js"
import { withUtm } from "./TapQuery.js"

/** On every /e answer, as flat name/value pairs: Node's fastest header path. */
const SAFE_HEADERS = [
  "cache-control",
  "no-store",
  "x-content-type-options",
  "nosniff",
  // Band ids are in the tap URL: the destination must not receive it as a referrer.
  "referrer-policy",
  "no-referrer"
] as const

export const redirect = (response: ServerResponse, location: string) => {
  response.writeHead(302, [...SAFE_HEADERS, "location", location, "content-length", "0"])
  response.end()
}

/*
 * Node throws (ERR_INVALID_CHAR) on a header value with control characters or anything above U+00FF, and
 * a throw in a node:http handler ends the process. Stored URLs are serialised ASCII since migration 0008;
 * this check keeps a value that is not (a read model written by an older version, a hand-edited row) from
 * ever reaching writeHead: the tap answers with the next destination of the chain instead.
 */
const HEADER_SAFE_URL = /^[!-~]{1,4096}$/
export const headerSafe = (url: string | null): url is string => url !== null && HEADER_SAFE_URL.test(url)

export const reject = (
  response: ServerResponse,
  status: number,
  message: string,
  extra: ReadonlyArray<string> = []
) => {
  const body = `${message}\n`
  response.writeHead(status, [
    ...SAFE_HEADERS,
    ...extra,
    "content-type",
    "text/plain; charset=utf-8",
    "content-length",
    String(Buffer.byteLength(body))
  ])
  response.end(body)
}

/** `withUtm`, or null when the destination does not parse or would not fit in a header. */
export const safeDestination = (destination: string | null, utm: UtmValues | null): string | null => {
  if (!headerSafe(destination)) return null
  try {
    const location = withUtm(destination, utm)
    return headerSafe(location) ? location : null
  } catch {
    return null
  }
}
