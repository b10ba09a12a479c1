import { randomBytes } from "node:crypto"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { text as readText } from "node:stream/consumers"
import { exportJWK, exportPKCS8, generateKeyPair, type JWTPayload, jwtVerify, SignJWT } from "jose"

export interface AppleAccount {
  readonly sub: string
  readonly email: string
  /** Apple writes it as a string. */
  readonly emailVerified: "true" | "false"
}

const htmlAttribute = (value: string) => value.replaceAll("&", "&amp;").replaceAll('"', "&quot;")

/**
 * Sign in with Apple's three endpoints, as Apple documents them, on loopback (routed from appleid.apple.com).
 * The authorize page approves at once as `signInAs` and answers with the self-submitting form Apple sends for
 * `response_mode=form_post`. The token endpoint accepts only a client secret that is an ES256 JWT signed with
 * the team's private key (`privateKeyPem`, which the test gives Tapline) with Apple's iss/sub/aud/kid, and
 * answers with an id_token signed by the stand-in's own RS256 key, published at /auth/keys.
 */
export const startAppleStandIn = async (client: {
  readonly id: string
  readonly teamId: string
  readonly keyId: string
}) => {
  const team = await generateKeyPair("ES256", { extractable: true })
  const signing = await generateKeyPair("RS256", { extractable: true })
  const signingJwk = {
    ...(await exportJWK(signing.publicKey)),
    kid: "apple-stand-in",
    alg: "RS256",
    use: "sig"
  }
  const codes = new Map<string, { account: AppleAccount; nonce: string | null; redirectUri: string }>()
  const refusals: Array<string> = []
  let signInAs: AppleAccount | undefined
  let idTokenOverrides: JWTPayload = {}

  const server = createServer(async (request, response) => {
    const url = new URL(request.url!, "http://localhost")
    const text = await readText(request)
    const json = (status: number, value: unknown) => {
      response.writeHead(status, { "content-type": "application/json" })
      response.end(JSON.stringify(value))
    }
    if (url.pathname === "/auth/keys") return json(200, { keys: [signingJwk] })
    if (url.pathname === "/auth/authorize") {
      const query = url.searchParams
      if (query.get("client_id") !== client.id || query.get("response_mode") !== "form_post") {
        return json(400, { error: "invalid_request" })
      }
      const code = `c${randomBytes(12).toString("hex")}`
      const redirectUri = query.get("redirect_uri")!
      codes.set(code, { account: signInAs!, nonce: query.get("nonce"), redirectUri })
      const fields = {
        code,
        state: query.get("state") ?? "",
        user: JSON.stringify({ email: signInAs!.email })
      }
      const inputs = Object.entries(fields)
        .map(([name, value]) => `<input type="hidden" name="${name}" value="${htmlAttribute(value)}">`)
        .join("")
      response.writeHead(200, { "content-type": "text/html" })
      return response.end(
        `<form method="post" action="${htmlAttribute(redirectUri)}">${inputs}</form><script>document.forms[0].submit()</script>`
      )
    }
    if (url.pathname === "/auth/token" && request.method === "POST") {
      const form = new URLSearchParams(text)
      const refuse = (why: string) => {
        refusals.push(why)
        return json(400, { error: why === "client" ? "invalid_client" : "invalid_grant" })
      }
      try {
        const { protectedHeader } = await jwtVerify(form.get("client_secret") ?? "", team.publicKey, {
          issuer: client.teamId,
          subject: client.id,
          audience: "https://appleid.apple.com",
          algorithms: ["ES256"]
        })
        if (protectedHeader.kid !== client.keyId || form.get("client_id") !== client.id)
          return refuse("client")
      } catch {
        return refuse("client")
      }
      const grant = codes.get(form.get("code") ?? "")
      if (grant === undefined || form.get("redirect_uri") !== grant.redirectUri) return refuse("grant")
      codes.delete(form.get("code")!)
      const idToken = await new SignJWT({
        iss: "https://appleid.apple.com",
        aud: client.id,
        sub: grant.account.sub,
        email: grant.account.email,
        email_verified: grant.account.emailVerified,
        is_private_email: "false",
        auth_time: Math.floor(Date.now() / 1000),
        nonce_supported: true,
        ...(grant.nonce === null ? {} : { nonce: grant.nonce }),
        ...idTokenOverrides
      })
        .setProtectedHeader({ alg: "RS256", kid: "apple-stand-in" })
        .setIssuedAt()
        .setExpirationTime("10m")
        .sign(signing.privateKey)
      return json(200, {
        access_token: `a${randomBytes(12).toString("hex")}`,
        token_type: "Bearer",
        expires_in: 3600,
        refresh_token: `r${randomBytes(12).toString("hex")}`,
        id_token: idToken
      })
    }
    return json(404, { error: "not_found" })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** The team's private key, PEM (PKCS#8), as an organiser pastes it into the provider's client secret. */
    privateKeyPem: await exportPKCS8(team.privateKey),
    /** Why the token endpoint refused, in order: `client` (secret JWT) or `grant` (code, redirect URI). */
    refusals,
    signInAs: (account: AppleAccount, overrides: JWTPayload = {}) => {
      signInAs = account
      idTokenOverrides = overrides
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
