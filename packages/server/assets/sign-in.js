// The sign-in page's script (after page.js): plain browser APIs, no build step.

const messages = {
  state: "The sign-in took too long or was already used. Please start again.",
  denied: "The sign-in was cancelled at the provider.",
  provider: "This sign-in provider is not available.",
  exchange: "The provider did not confirm the sign-in. Please start again.",
  id_token: "The provider's answer could not be verified.",
  profile: "The provider's profile could not be read.",
  email_unverified:
    "The provider does not vouch for your email address. Sign in another way, then link this account.",
  no_account: "There is no Tapline account for this email. Ask an organisation owner for an invitation.",
  identity_taken: "That account is already linked to another Tapline user.",
  unavailable: "The sign-in provider cannot be reached right now. Please try again later.",
  outbound_refused:
    "This server is not allowed to contact the sign-in provider (its outbound policy refuses it). An administrator can allow it with OUTBOUND_ALLOW.",
  unreachable:
    "The sign-in provider cannot be reached right now. Please try again later, or sign in another way.",
  discovery:
    "The sign-in provider's configuration could not be read (a bad discovery document). An administrator must check the provider's issuer URL."
}

const query = new URLSearchParams(location.search)
const invitation = query.get("invitation")

/** Words for a failed passkey request, never a raw WebAuthn exception. */
const passkeyMessage = (error) => {
  if (error?.name === "NotAllowedError")
    return "No passkey was used: the request was cancelled or timed out, or this device has no passkey for Tapline."
  if (error?.name === "SecurityError")
    return "Passkeys only work at this server's public address (PUBLIC_URL): open the sign-in page there."
  if (error?.name === "NotSupportedError") return "This browser or device cannot use passkeys."
  if (error?.name === "InvalidStateError") return "This device already has a passkey for your account."
  if (/^[45]\d\d$/.test(error?.message ?? ""))
    return "The server could not check the passkey. Please try again."
  return error?.message ?? "The passkey could not be used. Please try again."
}

/** With no provider and nobody signed up yet, say how the first person gets in. */
const firstRunHint = async (providers) => {
  if (providers.length > 0 || invitation !== null) return
  const setup = await api("GET", "/api/v1/setup").catch(() => ({ open: false }))
  if (setup.open) {
    show(
      "Tapline is not set up yet. Open the setup link the server printed when it started (or wrote to " +
        "<data folder>/setup-link), or run `pnpm tapline setup:link` for a new one.",
      "info"
    )
  } else if ($("message").textContent === "") {
    show("No sign-in provider is configured: sign in with your passkey, or ask a platform admin.", "info")
  }
}

const askSecondFactor = (ticket) => {
  $("signed-out").hidden = true
  $("second-factor").hidden = false
  $("second-factor-form").onsubmit = async (event) => {
    event.preventDefault()
    const value = $("totp-code").value.trim()
    const factor = /^\d{6}$/.test(value) ? { code: value } : { backupCode: value }
    try {
      await api("POST", "/api/v1/auth/second-factor", { ticket, ...factor })
      history.replaceState(null, "", location.pathname + location.search)
      $("second-factor").hidden = true
      await render()
    } catch (error) {
      show(error.message)
    }
  }
}

const signInWithPasskey = async () => {
  try {
    const options = await api("POST", "/api/v1/auth/passkey/options")
    const credential = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)
    })
    const result = await api("POST", "/api/v1/auth/passkey", { credential: credential.toJSON() })
    if (result.secondFactorTicket !== undefined) return askSecondFactor(result.secondFactorTicket)
    await render()
  } catch (error) {
    show(`Passkey sign-in failed. ${passkeyMessage(error)}`)
  }
}

const addPasskey = async () => {
  try {
    const options = await api("POST", "/api/v1/me/passkeys/registration-options")
    const credential = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)
    })
    await api("POST", "/api/v1/me/passkeys", { credential: credential.toJSON() })
    show("Passkey added.", "info")
    await render()
  } catch (error) {
    show(`Adding the passkey failed. ${passkeyMessage(error)}`)
  }
}

/** The end of an email sign-in (link or code): the second factor if TOTP is on, else the signed-in view. */
const finishEmailSignIn = async (result) => {
  if (result.secondFactorTicket !== undefined) return askSecondFactor(result.secondFactorTicket)
  $("email-code-form").hidden = true
  await render()
}

const requestEmailSignIn = async (event) => {
  event.preventDefault()
  try {
    const result = await api("POST", "/api/v1/auth/email", { email: $("email-address").value.trim() })
    show(result.message, "info")
    $("email-code-form").hidden = false
    $("email-code").focus()
  } catch (error) {
    show(error.message)
  }
}

const signInWithEmailCode = async (event) => {
  event.preventDefault()
  try {
    const email = $("email-address").value.trim()
    await finishEmailSignIn(
      await api("POST", "/api/v1/auth/email/code", { email, code: $("email-code").value.trim() })
    )
  } catch (error) {
    show(error.message)
  }
}

/** The mailed link carries its token in the fragment, which no server or Referer ever sees; it works once. */
const signInWithEmailLink = async (token) => {
  history.replaceState(null, "", location.pathname + location.search)
  try {
    await finishEmailSignIn(await api("POST", "/api/v1/auth/email/link", { token }))
  } catch (error) {
    show(`The sign-in link did not work: ${error.message}. Ask for a new one below.`)
  }
}

const renderInvitation = async (signedIn) => {
  if (invitation === null) return
  try {
    const preview = await api("GET", `/api/v1/invitations/${encodeURIComponent(invitation)}`)
    $("invitation").hidden = false
    $("invitation-organization").textContent = preview.organizationName
    if (preview.organizationLogoUrl !== null) {
      $("invitation-logo").src = preview.organizationLogoUrl
      $("invitation-logo").alt = `${preview.organizationName} logo`
      $("invitation-logo").hidden = false
    }
    $("invitation-role").textContent = preview.role
    $("invitation-email").textContent = preview.email
    $("accept-invitation").hidden = !signedIn
  } catch {
    show("This invitation link is no longer valid.")
  }
}

const render = async () => {
  const me = await fetch("/api/v1/me", { credentials: "same-origin" })
  const signedIn = me.ok
  $("signed-in").hidden = !signedIn
  $("signed-out").hidden = signedIn || $("second-factor").hidden === false
  await renderInvitation(signedIn)
  if (signedIn) {
    const user = await me.json()
    $("user-email").textContent = user.email
    const passkeys = await api("GET", "/api/v1/me/passkeys")
    $("passkeys").replaceChildren(
      ...passkeys.map((passkey) => {
        const item = document.createElement("li")
        item.textContent = passkey.name
        return item
      })
    )
    return
  }
  const providers = await api("GET", "/api/v1/auth/providers")
  $("providers").replaceChildren(
    ...providers.map((provider) => {
      const link = document.createElement("a")
      link.className = "button"
      link.textContent = `Continue with ${provider.displayName}`
      const start = new URL(`/api/v1/auth/oauth/${provider.id}/start`, location.origin)
      if (invitation !== null) start.searchParams.set("invitation", invitation)
      link.href = start.pathname + start.search
      return link
    })
  )
  await firstRunHint(providers)
}

const start = async () => {
  $("passkey-sign-in").onclick = signInWithPasskey
  $("add-passkey").onclick = addPasskey
  $("sign-out").onclick = async () => {
    await api("POST", "/api/v1/auth/sign-out")
    await render()
  }
  $("accept-invitation").onclick = async () => {
    try {
      await api("POST", `/api/v1/invitations/${encodeURIComponent(invitation)}/accept`)
      show("You joined the organisation.", "info")
      $("accept-invitation").hidden = true
    } catch (error) {
      show(error.message)
    }
  }
  const error = query.get("error")
  if (error !== null) show(messages[error] ?? "The sign-in failed.")
  if (query.get("linked") !== null) show("The account is linked.", "info")
  $("email-sign-in").onsubmit = requestEmailSignIn
  $("email-code-form").onsubmit = signInWithEmailCode
  const ticket = /^#ticket=(tlt_[\w-]+)$/.exec(location.hash)?.[1]
  if (ticket !== undefined) askSecondFactor(ticket)
  const emailToken = /^#email_token=(tle_[\w-]+)$/.exec(location.hash)?.[1]
  if (emailToken !== undefined) await signInWithEmailLink(emailToken)
  await render()
  document.body.dataset.ready = "true"
}

start()
