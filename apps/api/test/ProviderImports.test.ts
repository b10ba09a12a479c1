import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { createDatabase } from "./support/Peers.js"
import { startServer, stopCleanly, waitUntilReady } from "./support/ServerProcess.js"

/*
 * Issue 31, item 3: a provider's SDK is imported only when configuration selects it. The built server runs
 * with a module resolve hook (node:module register, through NODE_OPTIONS=--import) that writes every
 * specifier the process resolves to a file; the SDKs of providers the configuration does not name must not
 * be among them.
 */

const SDKS = {
  smtp: "nodemailer",
  ses: "@aws-sdk/client-sesv2",
  s3: "@aws-sdk/client-s3",
  s3Upload: "@aws-sdk/lib-storage",
  s3Presigner: "@aws-sdk/s3-request-presigner",
  // Language models (issue 35): the OpenAI client also carries Gemini.
  openai: "@effect/ai-openai/OpenAiClient",
  anthropic: "@effect/ai-anthropic/AnthropicClient"
}

const folder = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-imports-"))
afterAll(() => Fs.rmSync(folder, { recursive: true, force: true }))

// The hooks run on their own thread; each resolved specifier is appended as one line.
Fs.writeFileSync(
  Path.join(folder, "hooks.mjs"),
  `import { appendFileSync } from "node:fs"
let file
export async function initialize(data) { file = data.file }
export async function resolve(specifier, context, next) {
  appendFileSync(file, specifier + "\\n")
  return next(specifier, context)
}
`
)
Fs.writeFileSync(
  Path.join(folder, "register.mjs"),
  `import { register } from "node:module"
register(${JSON.stringify(pathToFileURL(Path.join(folder, "hooks.mjs")).href)}, {
  data: { file: process.env.TAPLINE_TEST_IMPORTS_FILE }
})
`
)

/** Starts the server until ready with `env`, stops it, and returns the specifiers it resolved. */
const resolvedBy = async (name: string, env: Record<string, string>) => {
  const database = await createDatabase()
  const file = Path.join(folder, `${name}.txt`)
  try {
    const server = await startServer({
      DATABASE_URL: database.url,
      NODE_OPTIONS: `--import=${pathToFileURL(Path.join(folder, "register.mjs")).href}`,
      TAPLINE_TEST_IMPORTS_FILE: file,
      TAPLINE_DATA_DIR: Path.join(folder, name),
      ...env
    })
    try {
      await waitUntilReady(server)
    } finally {
      await stopCleanly(server)
    }
  } finally {
    await database.drop()
  }
  return new Set(Fs.readFileSync(file, "utf8").split("\n"))
}

describe("provider SDKs are loaded only when configured", () => {
  it("the default configuration (log email, local storage) loads no provider SDK", async () => {
    const resolved = await resolvedBy("defaults", {})
    // The hook works: the server's own packages were seen.
    expect(resolved.has("effect")).toBe(true)
    for (const sdk of Object.values(SDKS)) expect(resolved.has(sdk), sdk).toBe(false)
  })

  it("SMTP, SES, S3 and the AI providers load their SDKs when configuration names them", async () => {
    // Nothing connects at start: the SMTP transport, the SES client and the S3 client are only built.
    const resolved = await resolvedBy("selected", {
      EMAIL_PROVIDERS: "smtp,ses,log",
      SMTP_URL: "smtp://127.0.0.1:9",
      SES_ENDPOINT: "http://127.0.0.1:9",
      SES_ACCESS_KEY_ID: "test",
      SES_SECRET_ACCESS_KEY: "test",
      STORAGE_PROVIDER: "s3",
      STORAGE_S3_BUCKET: "tapline-imports",
      STORAGE_S3_ENDPOINT: "http://127.0.0.1:9",
      STORAGE_S3_FORCE_PATH_STYLE: "true",
      STORAGE_S3_ACCESS_KEY_ID: "test",
      STORAGE_S3_SECRET_ACCESS_KEY: "test",
      OPENAI_API_KEY: "sk-test",
      ANTHROPIC_API_KEY: "sk-ant-test"
    })
    for (const sdk of Object.values(SDKS)) expect(resolved.has(sdk), sdk).toBe(true)
  })
})
