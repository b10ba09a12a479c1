// The registration page's one script: after the form went through, it offers notifications where the browser
// has them (Notification and PushManager), and asks for permission only when the button is tapped (a user
// gesture, as browsers require). Subscribing comes later (issue 34): nothing is stored here.
const offer = document.getElementById("push-offer")
const button = document.getElementById("push")
const status = document.getElementById("push-status")
if (
  offer !== null &&
  button !== null &&
  "Notification" in window &&
  "PushManager" in window &&
  Notification.permission === "default"
) {
  offer.hidden = false
  button.addEventListener("click", async () => {
    button.disabled = true
    const answer = await Notification.requestPermission()
    offer.hidden = true
    if (status !== null)
      status.textContent = answer === "granted" ? "Notifications are on." : "Notifications stay off."
  })
}
