interface StoredCookie {
  readonly host: string
  readonly path: string
  readonly name: string
  readonly value: string
}

export interface JarRequest {
  readonly method?: string
  /** Sent as application/x-www-form-urlencoded, as an HTML form posts. */
  readonly form?: Record<string, string>
  readonly json?: unknown
  readonly headers?: Record<string, string>
}

/**
 * What a browser does for a redirect-based sign-in, without one: keeps cookies per host (path-scoped,
 * expiring on Max-Age=0), never follows redirects by itself so a test can stop, inspect or replay a step.
 */
export class CookieJarClient {
  private cookies: Array<StoredCookie> = []

  cookie(host: string, name: string): string | undefined {
    return this.cookies.find((c) => c.host === host && c.name === name)?.value
  }

  setCookie(host: string, name: string, value: string, path = "/"): void {
    this.cookies = this.cookies.filter((c) => !(c.host === host && c.name === name && c.path === path))
    this.cookies.push({ host, path, name, value })
  }

  async fetch(url: string | URL, request: JarRequest = {}): Promise<Response> {
    const target = new URL(url)
    const headers: Record<string, string> = { "user-agent": "tapline-test-browser/1.0", ...request.headers }
    const sent = this.cookies.filter((c) => c.host === target.host && target.pathname.startsWith(c.path))
    if (sent.length > 0) headers.cookie = sent.map((c) => `${c.name}=${c.value}`).join("; ")
    let body: string | undefined
    if (request.form !== undefined) {
      body = new URLSearchParams(request.form).toString()
      headers["content-type"] = "application/x-www-form-urlencoded"
    } else if (request.json !== undefined) {
      body = JSON.stringify(request.json)
      headers["content-type"] = "application/json"
    }
    const response = await fetch(target, {
      method: request.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      redirect: "manual",
      ...(body === undefined ? {} : { body })
    })
    for (const line of response.headers.getSetCookie()) this.store(target, line)
    return response
  }

  private store(target: URL, line: string) {
    const [pair, ...attributes] = line.split(";").map((part) => part.trim())
    const eq = pair!.indexOf("=")
    const name = pair!.slice(0, eq)
    const value = pair!.slice(eq + 1)
    let path = "/"
    let expired = false
    for (const attribute of attributes) {
      const [key, val = ""] = attribute.split("=")
      if (key!.toLowerCase() === "path") path = val
      if (key!.toLowerCase() === "max-age" && Number(val) <= 0) expired = true
      if (key!.toLowerCase() === "expires" && Date.parse(val) < Date.now()) expired = true
    }
    this.cookies = this.cookies.filter((c) => !(c.host === target.host && c.name === name && c.path === path))
    if (!expired) this.cookies.push({ host: target.host, path, name, value })
  }
}

/**
 * Drives an authorization request through node-oidc-provider's dev interactions (login form, consent form)
 * and stops at the redirect back to `callbackPrefix`, returning that URL unvisited.
 */
export const authorizeAt = async (
  jar: CookieJarClient,
  authorizationUrl: string,
  login: string,
  callbackPrefix: string
): Promise<URL> => {
  let current = new URL(authorizationUrl)
  let response = await jar.fetch(current)
  for (let step = 0; step < 20; step++) {
    if (response.status >= 300 && response.status < 400) {
      const next = new URL(response.headers.get("location")!, current)
      if (next.href.startsWith(callbackPrefix)) return next
      current = next
      response = await jar.fetch(current)
      continue
    }
    const html = await response.text()
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1]
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1]
    if (response.status !== 200 || action === undefined || prompt === undefined) {
      throw new Error(`unexpected provider page ${response.status} at ${current.href}: ${html.slice(0, 500)}`)
    }
    const form: Record<string, string> = prompt === "login" ? { prompt, login, password: "any" } : { prompt }
    current = new URL(action, current)
    response = await jar.fetch(current, { method: "POST", form })
  }
  throw new Error("the provider never redirected back")
}
