// The registration page's one script: after the form went through, it offers notifications where the browser
// has them (Notification, PushManager, service workers) and the server gave a VAPID key, and asks for
// permission only when the button is tapped (a user gesture, as browsers require). Then it registers the
// service worker (/r/sw.js, scope /r/), subscribes, and posts the subscription to /r/push/<page token> with
// the page's CSRF token; the server stores it and records the push consent the offer's text asked for.
const offer = document.getElementById("push-offer")
const button = document.getElementById("push")
const status = document.getElementById("push-status")
const say = (text) => {
  if (status !== null) status.textContent = text
}

/** The VAPID key, base64url, as the bytes PushManager.subscribe takes. */
const keyBytes = (key) => {
  const text = atob(key.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (key.length % 4)) % 4))
  return Uint8Array.from(text, (c) => c.charCodeAt(0))
}

const subscribe = async () => {
  const registration = await navigator.serviceWorker.register("/r/sw.js", { scope: "/r/" })
  await navigator.serviceWorker.ready
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: keyBytes(offer.dataset.key)
  })
  const token = location.pathname.split("/").pop()
  const response = await fetch(`/r/push/${encodeURIComponent(token)}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ csrf: offer.dataset.csrf, subscription: subscription.toJSON() })
  })
  return response.ok
}

if (
  offer !== null &&
  button !== null &&
  offer.dataset.key !== undefined &&
  "Notification" in window &&
  "PushManager" in window &&
  "serviceWorker" in navigator &&
  Notification.permission !== "denied"
) {
  offer.hidden = false
  button.addEventListener("click", async () => {
    button.disabled = true
    const answer = await Notification.requestPermission()
    if (answer !== "granted") {
      offer.hidden = true
      return say("Notifications stay off.")
    }
    try {
      const stored = await subscribe()
      offer.hidden = true
      say(stored ? "Notifications are on." : "Notifications could not be turned on. Try again later.")
    } catch {
      button.disabled = false
      say("Notifications could not be turned on. Try again later.")
    }
  })
}
