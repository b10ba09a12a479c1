import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tls from "node:tls"
import { freePort } from "./ports.js"

/** Debian's server; the machine's own runs on 4222 and is never touched. */
const BINARY = "/usr/sbin/nats-server"

/** What a user the probe signs in as; the server's own `config` defines it. */
export interface NatsUser {
  readonly user: string
  readonly password: string
}

/** Resolves with what `socket` has received once `done` holds for it, or undefined after `timeoutMs`. */
const receive = (socket: Net.Socket, done: (text: string) => boolean, timeoutMs: number) =>
  new Promise<string | undefined>((resolve) => {
    let text = ""
    const finish = (result: string | undefined) => {
      clearTimeout(timer)
      socket.off("data", onData)
      resolve(result)
    }
    const onData = (chunk: Buffer) => {
      text += chunk.toString("utf8")
      if (done(text)) finish(text)
    }
    const timer = setTimeout(() => finish(undefined), timeoutMs)
    socket.on("data", onData)
    socket.once("close", () => finish(undefined))
  })

/**
 * One exchange in NATS's text protocol: a request to JetStream's `$JS.API.INFO`, answered only once JetStream
 * has started (a client connecting is not enough). Written on a bare socket, upgraded to TLS when the server
 * requires it (the certificate is not checked: this only asks whether the server is up), so that this package
 * needs no NATS client.
 */
const jetStreamAnswers = async (port: number, timeoutMs: number, user: NatsUser | undefined) => {
  const plain = Net.connect(port, "127.0.0.1")
  plain.on("error", () => {})
  let socket: Net.Socket = plain
  try {
    const info = await receive(plain, (text) => text.includes("\r\n"), timeoutMs)
    if (info === undefined) return false
    if (/"tls_required":true/.test(info)) {
      const secure = Tls.connect({ socket: plain, rejectUnauthorized: false })
      secure.on("error", () => {})
      socket = secure
      if (
        !(await new Promise<boolean>((r) =>
          secure.once("secureConnect", () => r(true)).once("close", () => r(false))
        ))
      ) {
        return false
      }
    }
    const credentials = user === undefined ? {} : { user: user.user, pass: user.password }
    const connect = { verbose: false, pedantic: false, headers: true, no_responders: true, ...credentials }
    const answer = receive(socket, (text) => /MSG _INBOX\.ready 1 \d+\r\n.*\r\n|-ERR/.test(text), timeoutMs)
    socket.write(
      `CONNECT ${JSON.stringify(connect)}\r\nSUB _INBOX.ready 1\r\nPUB $JS.API.INFO _INBOX.ready 0\r\n\r\n`
    )
    // A status (503 no responders) comes as HMSG: JetStream is not there yet.
    return (await answer)?.includes('"type":"io.nats.jetstream.api.v1.account_info_response"') === true
  } finally {
    socket.destroy()
    plain.destroy()
  }
}

/** Resolves once JetStream on `port` answers; rejects after 15 s. */
const waitForJetStream = async (port: number, child: ChildProcess, user: NatsUser | undefined) => {
  const deadline = Date.now() + 15_000
  while (!(await jetStreamAnswers(port, 1_000, user))) {
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
 * is extra nats-server configuration (TLS, users, limits) written into that folder; `user` is one of its
 * users, for the readiness probe when the configuration requires one.
 */
export const startNatsServer = async (
  options: { readonly config?: string; readonly user?: NatsUser } = {}
): Promise<NatsServer> => {
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
      await waitForJetStream(port, started, options.user)
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
