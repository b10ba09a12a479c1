import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { freePort } from "@tapline/testing/ports"

/** Debian's haproxy; scripts/test-all.sh installs it when missing. */
const binary = () => {
  for (const candidate of ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]) {
    if (Fs.existsSync(candidate)) return candidate
  }
  try {
    return execFileSync("sh", ["-c", "command -v haproxy"], { encoding: "utf8" }).trim()
  } catch {
    throw new Error("haproxy is missing: apt-get install -y haproxy (scripts/test-all.sh does it as root)")
  }
}

export interface Balancer {
  readonly port: number
  /** Each server's state as HAProxy's health checks see it (UP, DOWN, …). */
  readonly states: () => Promise<Record<string, string>>
  readonly waitFor: (server: string, state: string, timeoutMs?: number) => Promise<void>
  readonly stop: () => Promise<void>
}

/**
 * A real HAProxy on loopback in front of `servers`, health-checking GET /health/ready every 500 ms (down after
 * two failures, up after two successes), round robin, keep-alive on both sides: how an operator runs it.
 */
export const startHaproxy = async (servers: Record<string, number>): Promise<Balancer> => {
  const [port, statsPort] = [await freePort(), await freePort()]
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-haproxy-"))
  const config = Path.join(dir, "haproxy.cfg")
  Fs.writeFileSync(
    config,
    [
      "global",
      "  maxconn 2000",
      "defaults",
      "  mode http",
      "  timeout connect 2s",
      "  timeout client 30s",
      "  timeout server 30s",
      // A check waits this long for its answer (without it, `inter`): a loaded machine answers slowly.
      "  timeout check 2s",
      "frontend taps",
      `  bind 127.0.0.1:${port}`,
      "  default_backend api",
      "frontend stats",
      `  bind 127.0.0.1:${statsPort}`,
      "  stats enable",
      "  stats uri /stats",
      "backend api",
      "  balance roundrobin",
      "  option httpchk GET /health/ready",
      "  http-check expect status 200",
      "  default-server inter 500ms fall 2 rise 2",
      ...Object.entries(servers).map(
        ([name, serverPort]) => `  server ${name} 127.0.0.1:${serverPort} check`
      ),
      ""
    ].join("\n")
  )
  let output = ""
  const child: ChildProcess = spawn(binary(), ["-db", "-f", config], { stdio: ["ignore", "pipe", "pipe"] })
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))

  const states = async () => {
    const response = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)
    const rows = (await response.text()).split("\n").map((line) => line.split(","))
    const header = rows[0] ?? []
    const status = header.indexOf("status")
    const result: Record<string, string> = {}
    for (const row of rows)
      if (row[0] === "api" && row[1] !== undefined && row[1] in servers) {
        result[row[1]] = row[status] ?? ""
      }
    return result
  }
  const waitFor = async (server: string, state: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (child.exitCode !== null) throw new Error(`haproxy exited:\n${output}`)
      try {
        if ((await states())[server]?.startsWith(state)) return
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`haproxy never saw ${server} ${state}:\n${output}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    port,
    states,
    waitFor,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      await exited
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
