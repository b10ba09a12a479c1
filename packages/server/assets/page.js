// What the sign-in and setup pages' scripts share: loaded before either (plain scripts share their top-level
// names). Every call goes to Tapline's own API, with the session's CSRF token once there is a session.

const $ = (id) => document.getElementById(id)

// biome-ignore lint/correctness/noUnusedVariables: a top-level name the sign-in and setup scripts call
const show = (text, kind = "error") => {
  $("message").textContent = text
  $("message").className = kind
}

const csrf = () =>
  document.cookie
    .split("; ")
    .find((c) => c.startsWith("tapline_csrf="))
    ?.slice(13) ?? ""

/** A JSON call; a refusal throws an Error with the API's message and the HTTP status (`status`). */
// biome-ignore lint/correctness/noUnusedVariables: a top-level name the sign-in and setup scripts call
const api = async (method, path, body) => {
  const headers = { "x-csrf-token": csrf() }
  if (body !== undefined) headers["content-type"] = "application/json"
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await response.text()
  const data = text === "" ? null : JSON.parse(text)
  if (!response.ok) {
    const error = new Error(data?.message ?? `${response.status}`)
    error.status = response.status
    throw error
  }
  return data
}
