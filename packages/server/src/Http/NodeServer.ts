import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { HotPath } from "../Redirect/HotPath.js"
import * as BodyGuard from "./BodyGuard.js"
import * as Listener from "./Listener.js"

/** True for `/e` and `/e?…`: the redirect, which never enters Effect's HTTP stack. */
const isHotPath = (url: string | undefined) => url !== undefined && /^\/e(\?|$)/.test(url)

type HotPathHandler = (request: IncomingMessage, response: ServerResponse) => void

const nodeServer = (hotPath: HotPathHandler | undefined) =>
  Layer.unwrapEffect(
    Effect.map(AppConfig, (config) => {
      const limits = BodyGuard.bodyLimits(config)
      const node = createServer({ keepAliveTimeout: 5_000 })
      // Every response is tracked so a stop can end each connection once answered (see Listener.track).
      const tracked = Listener.track(node)
      const emit = node.emit.bind(node) as (event: string, ...args: Array<unknown>) => boolean
      node.emit = ((event: string, ...args: Array<unknown>) => {
        if (event === "request") {
          const [request, response] = args as [IncomingMessage, ServerResponse]
          tracked.onRequest(request, response)
          if (BodyGuard.screen(limits, request, response)) return true
          if (hotPath !== undefined && isHotPath(request.url)) {
            // The redirect never reads a body: one sent anyway stays unread.
            BodyGuard.capRest(request, response)
            hotPath(request, response)
            return true
          }
        }
        return emit(event, ...args)
      }) as typeof node.emit
      // `Expect: 100-continue`: a body declared too large is refused without a 100 inviting it.
      node.on("checkContinue", (request: IncomingMessage, response: ServerResponse) => {
        if (BodyGuard.screen(limits, request, response)) return
        response.writeContinue()
        node.emit("request", request, response)
      })
      return Layer.merge(
        NodeHttpServer.layer(() => node, { port: config.server.port, host: config.server.host }),
        Layer.succeed(Listener.Listener, tracked.listener)
      )
    })
  )

/** Node's HTTP server on HOST:PORT for an Effect HTTP app; closing it waits for in-flight requests. */
export const NodeServerLive = nodeServer(undefined)

/**
 * The same server with the redirect mounted: requests for /e go straight to the hot-path handler; everything
 * else is emitted to the Effect HTTP app that NodeHttpServer attaches. Intercepting `emit` keeps one server
 * and one port without routing every tap through the per-request machinery STACK.md measured at 4-5x the
 * cost of a bare server.
 */
export const NodeServerWithHotPathLive = Layer.unwrapEffect(
  Effect.map(HotPath, (handler) => nodeServer(handler))
)
