import * as Util from "node:util"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { ConfigProvider, Console, Effect } from "effect"
import { program } from "../../../cli/src/main.js"
import { childEnv } from "./ServerProcess.js"

/*
 * `pnpm tapline …` run in this process: the same commands, parser, configuration and error wording as the
 * built CLI (apps/cli/src/main.ts's `program`), without a Node start per command (2-8 s each on a busy
 * 2-core machine). What differs is only the process around it, which the binary smoke test in Cli.test.ts
 * covers: ANSI stripping on piped output, and the exit code set on the process.
 */

/** An Effect Console that appends every line to `write`, formatted as Node's console would. */
const capturing = (write: (text: string) => void): Console.Console => {
  const line = (...args: ReadonlyArray<unknown>) => Effect.sync(() => write(`${Util.format(...args)}\n`))
  const ignore = () => Effect.void
  const unsafe = {
    ...globalThis.console,
    log: (...args: Array<unknown>) => write(`${Util.format(...args)}\n`),
    error: (...args: Array<unknown>) => write(`${Util.format(...args)}\n`)
  }
  return {
    [Console.TypeId]: Console.TypeId,
    assert: (condition, ...args) => (condition ? Effect.void : line("Assertion failed:", ...args)),
    clear: Effect.void,
    count: ignore,
    countReset: ignore,
    debug: line,
    dir: (item) => line(item),
    dirxml: line,
    error: line,
    group: ignore,
    groupEnd: Effect.void,
    info: line,
    log: line,
    table: (data) => line(data),
    time: ignore,
    timeEnd: ignore,
    timeLog: (_label, ...args) => line(...args),
    trace: line,
    warn: line,
    unsafe
  }
}

/**
 * Runs one CLI command in-process with `env` as its whole environment (the same variables a spawned CLI
 * would see: this process's, minus those that would change the server's mode, plus `env`). Resolves with
 * the exit code the command set and what it printed (stdout and stderr interleaved).
 */
export const runCliInProcess = async (
  args: ReadonlyArray<string>,
  env: Record<string, string>
): Promise<{ code: number; output: string }> => {
  let output = ""
  const provider = ConfigProvider.fromMap(new Map(Object.entries(childEnv(env))), { pathDelim: "_" })
  const previous = process.exitCode
  process.exitCode = 0
  try {
    await Effect.runPromise(
      program(["node", "tapline", ...args]).pipe(
        Console.withConsole(capturing((text) => (output += text))),
        Effect.withConfigProvider(provider),
        Effect.provide(NodeContext.layer)
      )
    )
    return { code: Number(process.exitCode ?? 0), output }
  } finally {
    process.exitCode = previous
  }
}
