// The registration page's service worker (scope /r/): shows a journey's push notification, and opens its
// page when it is tapped. The payload is the Push port's JSON: { title, body, url }.
self.addEventListener("push", (event) => {
  let message = {}
  try {
    message = event.data ? event.data.json() : {}
  } catch {
    message = { body: event.data ? event.data.text() : "" }
  }
  const title = typeof message.title === "string" && message.title !== "" ? message.title : "Notification"
  event.waitUntil(
    self.registration.showNotification(title, {
      body: typeof message.body === "string" ? message.body : "",
      data: { url: typeof message.url === "string" ? message.url : null }
    })
  )
})

self.addEventListener("notificationclick", (event) => {
  event.notification.close()
  const url = event.notification.data?.url
  // Only web pages: a notification's link never runs script.
  if (typeof url === "string" && /^https?:\/\//.test(url)) event.waitUntil(self.clients.openWindow(url))
})
