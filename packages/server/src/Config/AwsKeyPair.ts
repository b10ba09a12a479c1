import { Config, type ConfigError, Effect, Option, type Redacted } from "effect"

export interface AwsKeyPair {
  readonly accessKeyId: string
  readonly secretAccessKey: Redacted.Redacted
}

/**
 * `<prefix>_ACCESS_KEY_ID` and `<prefix>_SECRET_ACCESS_KEY`, both or neither; neither: the AWS SDK's default
 * chain (environment, profile, instance role). Half a pair stops the start naming both variables, since a
 * provider that silently fell back to the default chain would sign as someone else.
 */
export const awsKeyPair = (
  prefix: string
): Effect.Effect<Option.Option<AwsKeyPair>, ConfigError.ConfigError> =>
  Effect.gen(function* () {
    const accessKeyId = yield* Config.option(Config.string(`${prefix}_ACCESS_KEY_ID`))
    const secretAccessKey = yield* Config.option(Config.redacted(`${prefix}_SECRET_ACCESS_KEY`))
    if (Option.isSome(accessKeyId) !== Option.isSome(secretAccessKey)) {
      return yield* Effect.dieMessage(
        `${prefix}_ACCESS_KEY_ID and ${prefix}_SECRET_ACCESS_KEY go together (or neither, for the AWS default chain)`
      )
    }
    return Option.zipWith(accessKeyId, secretAccessKey, (id, secret) => ({
      accessKeyId: id,
      secretAccessKey: secret
    }))
  })
