import { randomBytes } from "node:crypto"
import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { text as readText } from "node:stream/consumers"

export interface GitHubAccount {
  readonly id: number
  readonly login: string
  readonly name: string | null
  readonly emails: ReadonlyArray<{
    readonly email: string
    readonly primary: boolean
    readonly verified: boolean
  }>
}

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: IncomingMessage["headers"]
  readonly body: string
}

/**
 * GitHub's OAuth endpoints and the two REST calls Tapline makes, as GitHub documents them, on loopback (routed
 * from github.com and api.github.com): the authorize page approves at once as `signInAs`, the token endpoint
 * checks client credentials (HTTP Basic) and the code, the API checks the bearer token. Every request is kept
 * so a test can assert exactly what was sent.
 */
export const startGitHubStandIn = async (client: { readonly id: string; readonly secret: string }) => {
  const requests: Array<RecordedRequest> = []
  const codes = new Map<string, GitHubAccount>()
  const tokens = new Map<string, GitHubAccount>()
  let signInAs: GitHubAccount | undefined
  const server = createServer(async (request, response) => {
    const url = new URL(request.url!, "http://localhost")
    const text = await readText(request)
    requests.push({ method: request.method!, path: url.pathname, headers: request.headers, body: text })
    const json = (status: number, value: unknown) => {
      response.writeHead(status, { "content-type": "application/json" })
      response.end(JSON.stringify(value))
    }
    if (url.pathname === "/login/oauth/authorize") {
      const code = randomBytes(10).toString("hex")
      codes.set(code, signInAs!)
      const back = new URL(url.searchParams.get("redirect_uri")!)
      back.searchParams.set("code", code)
      back.searchParams.set("state", url.searchParams.get("state")!)
      response.writeHead(302, { location: back.href })
      return response.end()
    }
    if (url.pathname === "/login/oauth/access_token" && request.method === "POST") {
      const expected = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString("base64")}`
      const form = new URLSearchParams(text)
      const account = codes.get(form.get("code") ?? "")
      // GitHub answers 200 with an error body for a bad code.
      if (request.headers.authorization !== expected || account === undefined) {
        return json(200, { error: "bad_verification_code" })
      }
      codes.delete(form.get("code")!)
      const token = `gho_${randomBytes(12).toString("hex")}`
      tokens.set(token, account)
      return json(200, { access_token: token, token_type: "bearer", scope: "read:user,user:email" })
    }
    const account = tokens.get(request.headers.authorization?.replace(/^Bearer /, "") ?? "")
    if (account === undefined) return json(401, { message: "Bad credentials" })
    if (url.pathname === "/user")
      return json(200, { id: account.id, login: account.login, name: account.name })
    if (url.pathname === "/user/emails") return json(200, account.emails)
    return json(404, { message: "Not Found" })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    signInAs: (account: GitHubAccount) => {
      signInAs = account
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
