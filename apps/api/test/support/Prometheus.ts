import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { freePort } from "@tapline/testing/ports"

/** PROMETHEUS_PATH, else Debian's `prometheus` package (scripts/test-all.sh installs it when root). */
export const prometheusBinary = () => {
  const given = process.env.PROMETHEUS_PATH
  if (given !== undefined && given !== "") return given
  if (Fs.existsSync("/usr/bin/prometheus")) return "/usr/bin/prometheus"
  try {
    return execFileSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" }).trim()
  } catch {
    throw new Error(
      "prometheus is missing: set PROMETHEUS_PATH or apt-get install -y prometheus " +
        "(scripts/test-all.sh does it as root)"
    )
  }
}

export interface Sample {
  readonly metric: Record<string, string>
  readonly value: readonly [number, string]
}

export interface Target {
  readonly labels: Record<string, string>
  readonly health: "up" | "down" | "unknown"
  readonly lastError: string
  readonly lastScrape: string
  /** Seconds the last scrape took. */
  readonly lastScrapeDuration: number
}

export interface Alert {
  readonly labels: Record<string, string>
  readonly state: "pending" | "firing"
}

export interface RuleGroup {
  readonly name: string
  readonly file: string
  readonly lastEvaluation: string
  readonly rules: ReadonlyArray<{
    readonly name: string
    readonly query: string
    readonly duration: number
    readonly health: string
    readonly lastError?: string
    readonly type: string
    /** An alerting rule's: inactive, pending or firing. */
    readonly state?: string
  }>
}

export interface RunningPrometheus {
  readonly url: string
  readonly query: (expr: string) => Promise<ReadonlyArray<Sample>>
  readonly targets: () => Promise<ReadonlyArray<Target>>
  readonly alerts: () => Promise<ReadonlyArray<Alert>>
  readonly ruleGroups: () => Promise<ReadonlyArray<RuleGroup>>
  /** Metric names (as their `# TYPE` lines give them) of every target of `job`. */
  readonly metricNames: (job: string) => Promise<ReadonlySet<string>>
  /** Polls `check` until it returns something other than undefined; throws with `what` at the deadline. */
  readonly waitFor: <A>(what: string, check: () => Promise<A | undefined>, timeoutMs?: number) => Promise<A>
  readonly output: () => string
  readonly stop: () => Promise<void>
}

export interface ScrapeJob {
  readonly name: string
  readonly targets: ReadonlyArray<string>
  /** The bearer Prometheus sends (Tapline's METRICS_TOKEN). */
  readonly token: string
}

/**
 * A real Prometheus on loopback, in a temporary folder of its own (config and TSDB), scraping each job's
 * targets every two seconds with its bearer token and evaluating `ruleFiles` every second. Configured as an
 * operator would, in JSON (which is YAML).
 */
export const startPrometheus = async (options: {
  readonly jobs: ReadonlyArray<ScrapeJob>
  readonly ruleFiles: ReadonlyArray<string>
}): Promise<RunningPrometheus> => {
  const port = await freePort()
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-prometheus-"))
  const config = Path.join(dir, "prometheus.yml")
  Fs.writeFileSync(
    config,
    JSON.stringify({
      // The timeout may not exceed the interval. Two seconds: on a machine with a hog per core and the
      // suite beside it, a process just started answered no 1 s scrape for 30 s (CI, session 17).
      global: { scrape_interval: "2s", scrape_timeout: "2s", evaluation_interval: "1s" },
      rule_files: options.ruleFiles,
      scrape_configs: options.jobs.map((job) => ({
        job_name: job.name,
        authorization: { type: "Bearer", credentials: job.token },
        static_configs: [{ targets: job.targets }]
      }))
    })
  )
  let output = ""
  const child: ChildProcess = spawn(
    prometheusBinary(),
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${Path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn"
    ],
    { stdio: ["ignore", "pipe", "pipe"] }
  )
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  // A binary that cannot start (a wrong PROMETHEUS_PATH) says so instead of leaving the test to time out.
  let failedToStart: Error | undefined
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve())
    child.once("error", (error) => {
      failedToStart = error
      resolve()
    })
  })
  const url = `http://127.0.0.1:${port}`

  const api = async <A>(path: string): Promise<A> => {
    const response = await fetch(`${url}${path}`)
    const body = (await response.json()) as { status: string; data: A; error?: string }
    if (body.status !== "success") throw new Error(`${path}: ${body.error ?? response.status}`)
    return body.data
  }
  const waitFor = async <A>(what: string, check: () => Promise<A | undefined>, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs
    let last: unknown
    for (;;) {
      if (failedToStart !== undefined) throw new Error(`prometheus did not start: ${failedToStart.message}`)
      if (child.exitCode !== null) throw new Error(`prometheus exited:\n${output}`)
      try {
        const found = await check()
        if (found !== undefined) return found
      } catch (error) {
        last = error // not listening yet, or no answer yet
      }
      if (Date.now() > deadline)
        throw new Error(`${what}: not within ${timeoutMs} ms${last === undefined ? "" : ` (${last})`}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  const running: RunningPrometheus = {
    url,
    query: async (expr) =>
      (await api<{ result: Array<Sample> }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    targets: async () => (await api<{ activeTargets: Array<Target> }>("/api/v1/targets")).activeTargets,
    alerts: async () => (await api<{ alerts: Array<Alert> }>("/api/v1/alerts")).alerts,
    ruleGroups: async () => (await api<{ groups: Array<RuleGroup> }>("/api/v1/rules")).groups,
    metricNames: async (job) => {
      const match = encodeURIComponent(`{job="${job}"}`)
      const rows = await api<Array<{ metric: string }>>(`/api/v1/targets/metadata?match_target=${match}`)
      return new Set(rows.map((row) => row.metric))
    },
    waitFor,
    output: () => output,
    stop: async () => {
      if (failedToStart === undefined && child.exitCode === null && child.signalCode === null)
        child.kill("SIGKILL")
      await exited
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
  try {
    await waitFor("prometheus ready", async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined))
  } catch (error) {
    await running.stop()
    throw error
  }
  return running
}
