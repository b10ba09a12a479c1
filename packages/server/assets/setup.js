// The first-run page (after page.js): the setup link's token is in the fragment (never sent to the server in
// the URL).

const token = /^#token=(tsu_[\w-]+)$/.exec(location.hash)?.[1]

/** Words for what went wrong, never a raw WebAuthn exception. */
const explain = (error) => {
  if (error?.name === "NotAllowedError")
    return "The passkey was not created: the request was cancelled or timed out. Try again."
  if (error?.name === "SecurityError")
    return "Passkeys only work on this server's public address: open the link at PUBLIC_URL's host."
  if (error?.name === "InvalidStateError") return "This device already has a passkey for this account."
  if (error?.name === "NotSupportedError") return "This browser or device cannot create passkeys."
  if (error?.status === 410) return error.message
  if (typeof error?.status === "number") return `The setup was refused: ${error.message}`
  return "The setup could not finish. Check your connection and try again."
}

const organization = () =>
  $("org-demo").checked
    ? { kind: "demo" }
    : { kind: "new", name: $("org-name").value.trim(), slug: $("org-slug").value.trim() }

const finish = async (event) => {
  event.preventDefault()
  $("finish").disabled = true
  try {
    const person = { token, email: $("email").value.trim() }
    const name = $("name").value.trim()
    if (name !== "") person.name = name
    const options = await api("POST", "/api/v1/setup/registration-options", person)
    const credential = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)
    })
    await api("POST", "/api/v1/setup", {
      ...person,
      organization: organization(),
      credential: credential.toJSON()
    })
    show("Done: you are the platform admin. Opening the console…", "info")
    location.assign("/console/")
  } catch (error) {
    show(explain(error))
  } finally {
    $("finish").disabled = false
  }
}

const start = async () => {
  if (token === undefined) {
    show(
      "This page needs the whole setup link (it ends with #token=…). Run `tapline setup:link` for a new one."
    )
    document.body.dataset.ready = "true"
    return
  }
  const status = await api("GET", "/api/v1/setup")
  if (!status.open) {
    show("Tapline is already set up: sign in at /sign-in.")
    document.body.dataset.ready = "true"
    return
  }
  if (status.demoOrganization !== null) {
    $("demo-choice").hidden = false
    $("demo-name").textContent = status.demoOrganization
    $("org-demo").checked = true
  }
  const toggle = () => {
    $("new-org").hidden = $("org-demo").checked
  }
  $("org-demo").onchange = toggle
  $("org-new").onchange = toggle
  toggle()
  $("setup-form").hidden = false
  $("setup-form").onsubmit = finish
  document.body.dataset.ready = "true"
}

start()
