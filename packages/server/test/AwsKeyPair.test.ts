import { Cause, ConfigProvider, Effect, Exit, Option, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { awsKeyPair } from "../src/Config/AwsKeyPair.js"

const read = (env: Record<string, string>) =>
  Effect.runSyncExit(
    awsKeyPair("STORAGE_S3").pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
    )
  )

describe("an AWS key pair from config (S3 storage, SES email)", () => {
  it("is both variables, or neither for the AWS default chain", () => {
    const both = read({ STORAGE_S3_ACCESS_KEY_ID: "AKIA1", STORAGE_S3_SECRET_ACCESS_KEY: "s3cret" })
    expect(Exit.isSuccess(both)).toBe(true)
    const pair = Exit.isSuccess(both) ? Option.getOrThrow(both.value) : undefined
    expect(pair?.accessKeyId).toBe("AKIA1")
    expect(pair && Redacted.value(pair.secretAccessKey)).toBe("s3cret")
    expect(read({})).toEqual(Exit.succeed(Option.none()))
  })

  it("stops the start naming both variables when only one is set", () => {
    for (const half of [{ STORAGE_S3_ACCESS_KEY_ID: "AKIA1" }, { STORAGE_S3_SECRET_ACCESS_KEY: "s3cret" }]) {
      const exit = read(half)
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain(
        "STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY go together (or neither, for the AWS default chain)"
      )
      // The secret never appears in what the start prints.
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).not.toContain("s3cret")
    }
  })
})
