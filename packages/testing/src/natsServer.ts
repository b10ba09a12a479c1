import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { freePort } from "./ports.js"

/** Debian's server; the machine's own runs on 4222 and is never touched. */
const BINARY = "/usr/sbin/nats-server"

/**
 * One exchange in NATS's text protocol: a request to JetStream's `$JS.API.INFO`, answered only once JetStream
 * has started (a client connecting is not enough: the listener opens before the streams are recovered).
 * Written on a bare socket so that this package needs no NATS client.
 */
const jetStreamAnswers = (port: number, timeoutMs: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Net.connect(port, "127.0.0.1")
    let received = ""
    const finish = (ok: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.on("error", () => finish(false))
    socket.once("data", () => {
      socket.write(
        'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n' +
          "SUB _INBOX.ready 1\r\nPUB $JS.API.INFO _INBOX.ready 0\r\n\r\n"
      )
    })
    socket.on("data", (chunk) => {
      received += chunk.toString("utf8")
      const answer = /MSG _INBOX\.ready 1 \d+\r\n(.*)\r\n/.exec(received)
      if (answer) finish(answer[1]!.includes('"type":"io.nats.jetstream.api.v1.account_info_response"'))
      // A status (503 no responders) comes as HMSG: JetStream is not there yet.
      else if (received.includes("HMSG _INBOX.ready")) finish(false)
    })
  })

/** Resolves once JetStream on `port` answers; rejects after 15 s. */
const waitForJetStream = async (port: number, child: ChildProcess) => {
  const deadline = Date.now() + 15_000
  while (!(await jetStreamAnswers(port, 1_000))) {
    if (child.exitCode !== null) throw new Error(`nats-server on port ${port} exited (${child.exitCode})`)
    if (Date.now() > deadline) throw new Error(`nats-server on port ${port} did not start JetStream`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export interface NatsServer {
  readonly url: string
  readonly port: number
  /** SIGTERM: a planned stop (JetStream writes its state); connections are refused until `start`. */
  readonly stop: () => Promise<void>
  /** SIGKILL: a crash. */
  readonly kill: () => Promise<void>
  /** Starts it again after `stop` or `kill`, on the same port and store folder: streams survive. */
  readonly start: () => Promise<void>
  readonly dispose: () => Promise<void>
}

/**
 * A throwaway nats-server with JetStream, on a free loopback port with a store folder of its own. `config`
 * is extra nats-server configuration (accounts, users, limits) written into that folder.
 */
export const startNatsServer = async (options: { readonly config?: string } = {}): Promise<NatsServer> => {
  if (!Fs.existsSync(BINARY)) {
    throw new Error(`${BINARY} is missing: apt-get install -y nats-server`)
  }
  const port = await freePort()
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-nats-"))
  const store = Path.join(dir, "jetstream")
  const args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store]
  if (options.config !== undefined) {
    const file = Path.join(dir, "nats.conf")
    Fs.writeFileSync(file, options.config)
    args.push("-c", file)
  }
  const launch = async () => {
    const started = spawn(BINARY, args, { stdio: "ignore" })
    started.on("error", () => {})
    try {
      await waitForJetStream(port, started)
    } catch (error) {
      started.kill("SIGKILL")
      throw error
    }
    return started
  }
  let child: ChildProcess = await launch()
  const exited = () => child.exitCode !== null || child.signalCode !== null
  const signal = (name: NodeJS.Signals) => () =>
    new Promise<void>((resolve) => {
      if (exited()) return resolve()
      child.once("exit", () => resolve())
      child.kill(name)
    })
  const kill = signal("SIGKILL")
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop: signal("SIGTERM"),
    kill,
    start: async () => {
      if (exited()) child = await launch()
    },
    dispose: async () => {
      await kill()
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
