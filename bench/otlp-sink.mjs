// An OTLP/HTTP receiver for the benchmarks, in a process of its own: it must answer while the benchmark
// process is blocked running wrk. Counts what it is sent, answers 200 as a collector would; GET /stats.
import * as Http from "node:http"

const stats = { requests: 0, bytes: 0 }
Http.createServer((request, response) => {
  if (request.method === "GET") {
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats))
    return
  }
  request.on("data", (chunk) => {
    stats.bytes += chunk.length
  })
  request.on("end", () => {
    stats.requests++
    response.writeHead(200, { "content-type": "application/x-protobuf" }).end()
  })
}).listen(Number(process.env.PORT), "127.0.0.1")
