// The providers bench:journeys' worker sends to, run by it in a process of their own (see startPeers there):
// an SMTP server and an HTTP server answering as Twilio's Messages API and FCM HTTP v1 do, each recording when
// each recipient's message was accepted. Sends its two ports when listening; answers "report" with what it
// recorded.
import * as Http from "node:http"
import { SMTPServer } from "smtp-server"
import { freePort } from "./support.mjs"

/** The provider: an SMTP server that records when each message to each address was accepted. */
const smtpPeer = async () => {
  const sent = new Map()
  const times = []
  const server = new SMTPServer({
    authOptional: true,
    // No DNS for the loopback client: a provider's edge does not make us wait on it either.
    disableReverseLookup: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      stream.on("data", () => {})
      stream.on("end", () => {
        const at = Date.now()
        for (const rcpt of session.envelope.rcptTo) sent.set(rcpt.address.toLowerCase(), at)
        times.push(at)
        callback()
      })
    }
  })
  const port = await freePort()
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve))
  return { port, sent, times }
}

/**
 * The SMS or push provider: an HTTP server answering as Twilio's Messages API (form `To`) or FCM HTTP v1 (a
 * token exchange, then `messages:send` with `message.token`) do, recording when each recipient's request came.
 */
const httpPeer = async () => {
  const sent = new Map()
  const times = []
  let next = 0
  const server = Http.createServer((request, response) => {
    const chunks = []
    request.on("data", (chunk) => chunks.push(chunk))
    request.on("end", () => {
      const at = Date.now()
      const body = Buffer.concat(chunks).toString("utf8")
      const reply = (status, json) => {
        response.writeHead(status, { "content-type": "application/json" })
        response.end(JSON.stringify(json))
      }
      if (request.url.endsWith("/token")) return reply(200, { access_token: "bench", expires_in: 3600 })
      next += 1
      times.push(at)
      if (request.url.includes("/Messages.json")) {
        sent.set(new URLSearchParams(body).get("To"), at)
        return reply(201, { sid: `SM${next.toString(16).padStart(32, "0")}`, status: "queued" })
      }
      if (request.url.endsWith("/messages:send")) {
        sent.set(JSON.parse(body).message.token, at)
        return reply(200, { name: `projects/bench/messages/${next}` })
      }
      reply(404, { error: "unknown path" })
    })
  })
  const port = await freePort()
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve))
  return { port, sent, times }
}

const smtp = await smtpPeer()
const http = await httpPeer()
process.send({ smtpPort: smtp.port, httpPort: http.port })
process.on("message", (message) => {
  if (message !== "report") return
  process.send({
    smtp: { sent: [...smtp.sent], times: smtp.times },
    http: { sent: [...http.sent], times: http.times }
  })
})
process.on("disconnect", () => process.exit(0))
