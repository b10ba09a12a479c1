import { type Browser, type CDPSession, chromium, type Page } from "playwright-core"

/*
 * The browser tests' Chromium: Debian's (CHROMIUM_PATH or /usr/bin/chromium), headless, with the flags that keep
 * it off the network it would otherwise call home to (this machine's network is closed: those calls hang).
 */

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run"
    ]
  })

/**
 * Nothing the page asks for leaves loopback: refused at once, a font or script from the internet costs nothing
 * (hanging, it held load events past short-lived cookies).
 */
export const keepOnLoopback = (page: Page) =>
  page.route(/^https?:\/\/(?!localhost[:/]|127\.0\.0\.1[:/])/, (route) => route.abort())

/** A DevTools virtual authenticator on the page's context that says yes to every passkey request. */
export const addVirtualAuthenticator = async (
  page: Page
): Promise<{ readonly cdp: CDPSession; readonly authenticatorId: string }> => {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send("WebAuthn.enable")
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true
    }
  })
  return { cdp, authenticatorId }
}
