import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { freePort } from "./ports.js"

/*
 * A throwaway RabbitMQ node of its own (Debian's rabbitmq-server), for tests that stop and restart the
 * broker; the machine's own node on 5672 is shared and never touched. The node has its own name, ports,
 * data, logs, config and Erlang cookie, all in one folder under the system temp directory.
 */

/**
 * The script behind Debian's /usr/sbin/rabbitmq-server wrapper: the wrapper, run as root, `su`s to the
 * rabbitmq user (who can read none of our folder) and sends the output to /var/log/rabbitmq. The script
 * itself runs as whoever starts it, root included, and takes everything from the environment.
 */
const SERVER_SCRIPT = "/usr/lib/rabbitmq/bin/rabbitmq-server"

/** Erlang boots slowly on a loaded machine (a 2-core box with a hog per core): generous on purpose. */
const READY_TIMEOUT_MS = 120_000
const STOP_TIMEOUT_MS = 60_000

/** One AMQP 0-9-1 frame: type, channel, payload. */
interface Frame {
  readonly type: number
  readonly channel: number
  readonly payload: Buffer
}

const shortString = (value: string) => {
  const bytes = Buffer.from(value)
  return Buffer.concat([Buffer.from([bytes.length]), bytes])
}

const longString = (value: string) => {
  const bytes = Buffer.from(value)
  const size = Buffer.alloc(4)
  size.writeUInt32BE(bytes.length)
  return Buffer.concat([size, bytes])
}

const methodFrame = (channel: number, classId: number, methodId: number, args: Buffer) => {
  const header = Buffer.alloc(11)
  header.writeUInt8(1, 0)
  header.writeUInt16BE(channel, 1)
  header.writeUInt32BE(4 + args.length, 3)
  header.writeUInt16BE(classId, 7)
  header.writeUInt16BE(methodId, 9)
  return Buffer.concat([header, args, Buffer.from([0xce])])
}

/**
 * Resolves once the node takes an AMQP connection as guest and opens a channel on it: the listener opens
 * before the node finished booting, and a connection alone does not prove the vhost is up. Written against
 * the wire (a dozen bytes a method) so the testing package needs no AMQP client of its own.
 */
export const probeAmqp = (port: number, timeoutMs = 5_000) =>
  new Promise<void>((resolve, reject) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    let buffered = Buffer.alloc(0)
    let step = 0
    const timer = setTimeout(() => socket.destroy(new Error("no AMQP answer in time")), timeoutMs)
    const done = (error?: Error) => {
      clearTimeout(timer)
      socket.destroy()
      if (error === undefined) resolve()
      else reject(error)
    }
    const expect = (frame: Frame, classId: number, methodId: number) => {
      const got = [frame.payload.readUInt16BE(0), frame.payload.readUInt16BE(2)]
      if (got[0] === 10 && got[1] === 50) {
        const text = frame.payload.subarray(7, 7 + frame.payload.readUInt8(6)).toString()
        throw new Error(`the node closed the connection: ${text}`)
      }
      if (got[0] !== classId || got[1] !== methodId)
        throw new Error(`unexpected AMQP method ${got.join(".")}`)
    }
    const onFrame = (frame: Frame) => {
      if (frame.type !== 1) return // heartbeats
      if (step === 0) {
        expect(frame, 10, 10) // connection.start
        const emptyTable = Buffer.alloc(4)
        const args = [emptyTable, shortString("PLAIN"), longString("\0guest\0guest"), shortString("en_US")]
        socket.write(methodFrame(0, 10, 11, Buffer.concat(args)))
      } else if (step === 1) {
        expect(frame, 10, 30) // connection.tune: echo its limits, no heartbeats
        const tune = Buffer.alloc(8)
        frame.payload.copy(tune, 0, 4, 10)
        socket.write(methodFrame(0, 10, 31, tune))
        socket.write(methodFrame(0, 10, 40, Buffer.concat([shortString("/"), shortString(""), Buffer.of(0)])))
      } else if (step === 2) {
        expect(frame, 10, 41) // connection.open-ok
        socket.write(methodFrame(1, 20, 10, shortString("")))
      } else if (step === 3) {
        expect(frame, 20, 11) // channel.open-ok
        return done()
      }
      step++
    }
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      try {
        while (buffered.length >= 8) {
          const size = buffered.readUInt32BE(3)
          if (buffered.length < 8 + size) break
          const frame = {
            type: buffered.readUInt8(0),
            channel: buffered.readUInt16BE(1),
            payload: buffered.subarray(7, 7 + size)
          }
          buffered = buffered.subarray(8 + size)
          onFrame(frame)
        }
      } catch (error) {
        done(error as Error)
      }
    })
    socket.on("error", (error) => done(error))
    socket.on("close", () => done(new Error("the node closed the connection")))
    socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]))
  })

export interface RabbitServer {
  /** guest/guest, which RabbitMQ lets in from loopback only. */
  readonly url: string
  readonly port: number
  readonly nodename: string
  /** How long the last start took until AMQP answered, for the notes and a slow machine's log. */
  readonly lastStartMs: () => number
  /** A planned stop (SIGTERM: the node closes connections, syncs its queues); connections refused after. */
  readonly stop: () => Promise<void>
  /** SIGKILL to the node and its script: a crash. */
  readonly kill: () => Promise<void>
  /** Starts again after `stop` or `kill`: same name, port and data (durable queues and messages survive). */
  readonly start: () => Promise<void>
  readonly dispose: () => Promise<void>
}

export interface RabbitServerOptions {
  /** More lines for rabbitmq.conf (new-style `key = value`). */
  readonly config?: ReadonlyArray<string>
}

const logTail = (dir: string) => {
  const folder = Path.join(dir, "log")
  const files = Fs.existsSync(folder) ? Fs.readdirSync(folder).filter((name) => name.endsWith(".log")) : []
  return files
    .map((name) => Fs.readFileSync(Path.join(folder, name), "utf8").split("\n").slice(-15).join("\n"))
    .join("\n")
}

/** A private RabbitMQ node on free loopback ports; resolves once a client can log in and open a channel. */
export const startRabbitServer = async (options: RabbitServerOptions = {}): Promise<RabbitServer> => {
  if (!Fs.existsSync(SERVER_SCRIPT)) {
    throw new Error(`${SERVER_SCRIPT} is missing: install RabbitMQ with apt-get install -y rabbitmq-server`)
  }
  const port = await freePort()
  const distPort = await freePort()
  const nodename = `rabbit-${port}@localhost`
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-rabbit-"))
  const file = (name: string, text: string) => {
    Fs.writeFileSync(Path.join(dir, name), text)
    return Path.join(dir, name)
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The Erlang cookie is written to $HOME: ours, not root's or the rabbitmq user's.
    HOME: dir,
    // Not /etc/rabbitmq/rabbitmq-env.conf, which names the machine's node.
    RABBITMQ_CONF_ENV_FILE: file("rabbitmq-env.conf", ""),
    RABBITMQ_CONFIG_FILE: file(
      "rabbitmq.conf",
      ["loopback_users.guest = true", "log.console = false", "log.file.level = warning"]
        .concat(options.config ?? [])
        .join("\n")
        .concat("\n")
    ),
    RABBITMQ_ENABLED_PLUGINS_FILE: file("enabled_plugins", "[].\n"),
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: Path.join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: Path.join(dir, "log"),
    // Erlang distribution on loopback only; epmd (shared, per machine) is started on loopback if absent.
    ERL_EPMD_ADDRESS: "127.0.0.1",
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}"
  }
  let startedMs = 0
  let child: ChildProcess | undefined
  const exited = (node: ChildProcess) => node.exitCode !== null || node.signalCode !== null
  const launch = async () => {
    const began = Date.now()
    // Its own process group, so `kill` reaches the Erlang VM the script started, not the script alone.
    const node = spawn(SERVER_SCRIPT, [], { env, cwd: dir, detached: true, stdio: "ignore" })
    node.on("error", () => {})
    child = node
    const deadline = began + READY_TIMEOUT_MS
    let last: unknown
    for (;;) {
      if (exited(node)) {
        throw new Error(`private rabbitmq-server exited during start (${node.exitCode}): ${logTail(dir)}`)
      }
      try {
        await probeAmqp(port)
        startedMs = Date.now() - began
        return
      } catch (error) {
        last = error
      }
      if (Date.now() > deadline) {
        await kill()
        throw new Error(`private rabbitmq-server did not answer in ${READY_TIMEOUT_MS} ms: ${String(last)}`)
      }
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  const signalGroup = (node: ChildProcess, signal: NodeJS.Signals) => {
    try {
      if (node.pid !== undefined) process.kill(-node.pid, signal)
    } catch {
      // already gone
    }
  }
  const waitExit = (node: ChildProcess, timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      if (exited(node)) return resolve(true)
      const timer = setTimeout(() => resolve(false), timeoutMs)
      node.once("exit", () => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  /** Until nothing takes connections on the port: the script exits only after the VM did. */
  const refused = async () => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = Net.connect({ host: "127.0.0.1", port })
        socket.once("connect", () => {
          socket.destroy()
          resolve(true)
        })
        socket.once("error", () => resolve(false))
      })
      if (!open) return
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  // A test process that dies (a timeout, a killed worker) must not leave an Erlang VM running.
  const killOnExit = () => {
    if (child !== undefined && !exited(child)) signalGroup(child, "SIGKILL")
  }
  process.on("exit", killOnExit)
  const kill = async () => {
    const node = child
    if (node === undefined || exited(node)) return
    signalGroup(node, "SIGKILL")
    await waitExit(node, STOP_TIMEOUT_MS)
    await refused()
  }
  const stop = async () => {
    const node = child
    if (node === undefined || exited(node)) return
    // The script traps SIGTERM and passes it to the VM, which stops RabbitMQ in order.
    node.kill("SIGTERM")
    if (!(await waitExit(node, STOP_TIMEOUT_MS))) signalGroup(node, "SIGKILL")
    await waitExit(node, STOP_TIMEOUT_MS)
    await refused()
  }
  try {
    await launch()
  } catch (error) {
    process.off("exit", killOnExit)
    Fs.rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    nodename,
    lastStartMs: () => startedMs,
    stop,
    kill,
    start: async () => {
      if (child === undefined || exited(child)) await launch()
    },
    dispose: async () => {
      await stop()
      process.off("exit", killOnExit)
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
