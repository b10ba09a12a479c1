import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { pageHeaders } from "../src/Http/ConsolePages.js"

/*
 * The console's CSP names where the page may send requests: this origin, and for band files uploaded by
 * presigned PUT, the object store's origin when that is S3. (The local store is this origin; the browser test
 * checks the served header end to end.)
 */
const connectSrc = (headers: Record<string, string>) =>
  /connect-src ([^;]+);/.exec(headers["content-security-policy"] ?? "")?.[1]

describe("console page headers", () => {
  it("local storage: the page talks to this origin only", () => {
    expect(connectSrc(pageHeaders({ provider: "local", endpoint: Option.none() }))).toBe("'self'")
  })

  it("S3 with an endpoint: its origin is allowed, nothing more of its URL", () => {
    const headers = pageHeaders({ provider: "s3", endpoint: Option.some("http://127.0.0.1:4569/bucket/") })
    expect(connectSrc(headers)).toBe("'self' http://127.0.0.1:4569")
  })

  it("AWS S3 (no endpoint): the regional hosts of amazonaws.com", () => {
    expect(connectSrc(pageHeaders({ provider: "s3", endpoint: Option.none() }))).toBe(
      "'self' https://*.amazonaws.com"
    )
  })
})
