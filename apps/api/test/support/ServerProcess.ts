import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import { freePort } from "@tapline/testing/ports"

export const distDir = fileURLToPath(new URL("../../dist/", import.meta.url))

/** The process tests run the built server, as operators do; `pnpm test` builds first. */
const entry = (name: "main" | "migrate") => {
  const file = `${distDir}${name}.js`
  if (!Fs.existsSync(file)) throw new Error(`${file} is missing: run 'pnpm build' before these tests`)
  return file
}

export { freePort }

/** The bearer a test server's /metrics asks for: required off the embedded database (AppConfig). */
export const METRICS_TOKEN = "tapline-test-metrics-token"

export interface RunningServer {
  readonly port: number
  readonly url: string
  readonly child: ChildProcess
  readonly output: () => string
  readonly stderr: () => string
  readonly exited: Promise<number | null>
  /** SIGTERM, then the exit code. */
  readonly stop: () => Promise<number | null>
}

/** Environment for a child: the test's own variables minus anything that would change the server's mode. */
const baseEnv = () => {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue
    if (/^(DATABASE_|REDIS_|OTEL_|TAPLINE_|PORT$|HOST$|TAP_DOMAIN$|LOG_)/.test(key)) continue
    env[key] = value
  }
  return env
}

/** A command's whole environment, as runCli gives it to the process (the in-process CLI reads the same). */
export const childEnv = (env: Record<string, string>): Record<string, string> => ({ ...baseEnv(), ...env })

export const startServer = async (env: Record<string, string>): Promise<RunningServer> => {
  const port = env.PORT ? Number(env.PORT) : await freePort()
  let stdout = ""
  let stderr = ""
  const child = spawn(process.execPath, [entry("main")], {
    // No drain delay unless a test asks for one: nothing balances these processes, and stops stay quick.
    env: {
      ...baseEnv(),
      HOST: "127.0.0.1",
      PORT: String(port),
      SHUTDOWN_DRAIN_DELAY: "0 seconds",
      METRICS_TOKEN,
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  child.stdout!.on("data", (chunk) => {
    stdout += chunk
  })
  child.stderr!.on("data", (chunk) => {
    stderr += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => stdout + stderr,
    stderr: () => stderr,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
      return exited
    }
  }
}

/** SIGTERM and expect exit code 0; otherwise fail with what the server printed, which says why. */
export const stopCleanly = async (server: RunningServer): Promise<void> => {
  const code = await server.stop()
  if (code !== 0) throw new Error(`server exited with ${code} on SIGTERM:\n${server.output().slice(-8_000)}`)
}

/** Resolves with the milliseconds it took for /health/ready to answer 200; rejects if the process exits. */
export const waitUntilReady = async (server: RunningServer, timeoutMs = 60_000): Promise<number> => {
  const started = Date.now()
  let exitCode: number | null | undefined
  void server.exited.then((code) => {
    exitCode = code
  })
  for (;;) {
    if (exitCode !== undefined) throw new Error(`server exited with ${exitCode}:\n${server.output()}`)
    try {
      const response = await fetch(`${server.url}/health/ready`)
      if (response.status === 200) return Date.now() - started
    } catch {
      // not listening yet
    }
    if (Date.now() - started > timeoutMs)
      throw new Error(`not ready after ${timeoutMs} ms:\n${server.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Runs `node dist/migrate.js` to completion. */
/**
 * The server's output once it contains `text`. The ready banner is printed once the port is bound, which may
 * be just after readiness first answers 200: a test that reads it waits for it.
 */
export const outputContaining = async (server: RunningServer, text: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (!server.output().includes(text)) {
    if (Date.now() > deadline)
      throw new Error(`no "${text}" in the output after ${timeoutMs} ms:\n${server.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return server.output()
}

export const runMigrate = (env: Record<string, string>) => runNode(entry("migrate"), [], env)

/** Runs `pnpm tapline …` (the built CLI) to completion. */
export const runCli = (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const file = fileURLToPath(new URL("../../../cli/dist/main.js", import.meta.url))
  if (!Fs.existsSync(file)) throw new Error(`${file} is missing: run 'pnpm build' before these tests`)
  return runNode(file, args, env)
}

const runNode = (file: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    let output = ""
    const child = spawn(process.execPath, [file, ...args], {
      env: { ...baseEnv(), ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    child.stdout!.on("data", (chunk) => {
      output += chunk
    })
    child.stderr!.on("data", (chunk) => {
      output += chunk
    })
    child.once("exit", (code) => resolve({ code, output }))
  })

/** A JSON call to a running server's admin API with an API key: the parsed answer. */
export const apiCaller =
  (url: string, key: string) =>
  async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return (await response.json()) as Record<string, unknown>
  }
