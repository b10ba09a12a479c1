// The baseline of `pnpm bench:redirect`: what a hand-written redirect server does for a tap, and no more.
// node:http + ioredis: GET the band's destination, answer 302, XADD the tap in the background.
import * as Http from "node:http"
import { Redis } from "ioredis"

const port = Number(process.env.PORT)
const prefix = process.env.REDIS_KEY_PREFIX ?? "baseline:"
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { keyPrefix: prefix })

const server = Http.createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://x")
  const bandId = url.searchParams.get("bandId")
  if (url.pathname !== "/e" || bandId === null) {
    response.writeHead(400)
    response.end()
    return
  }
  redis.get(`band:${bandId}`).then(
    (destination) => {
      response.writeHead(302, {
        location: destination ?? "https://example.com/",
        "cache-control": "no-store"
      })
      response.end()
      redis
        .xadd(
          "stream",
          "*",
          "t",
          JSON.stringify({ bandId, at: Date.now(), ua: request.headers["user-agent"] ?? null })
        )
        .catch(() => {})
    },
    () => {
      response.writeHead(502)
      response.end()
    }
  )
})
server.keepAliveTimeout = 5_000
server.listen(port, "127.0.0.1", () => process.stdout.write(`baseline listening on ${port}\n`))
process.on("SIGTERM", () => server.close(() => redis.quit().then(() => process.exit(0))))
