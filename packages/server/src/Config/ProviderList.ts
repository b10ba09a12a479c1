import { Config, ConfigError, Either } from "effect"

/**
 * A port's ordered, comma-separated list of provider names (EMAIL_PROVIDERS, SMS_PROVIDERS, PUSH_PROVIDERS):
 * each known and named once, case and spaces ignored. `allowEmpty`: an empty list means the port is off (SMS,
 * push); email always has one.
 */
export const providerList = <Name extends string>(
  known: ReadonlyArray<Name>,
  options: { readonly allowEmpty: boolean }
): Config.Config<ReadonlyArray<Name>> =>
  Config.string().pipe(
    Config.mapOrFail((text) => {
      const names = text
        .split(",")
        .map((name) => name.trim().toLowerCase())
        .filter((name) => name.length > 0)
      const unknown = names.filter((name) => !(known as ReadonlyArray<string>).includes(name))
      const empty = names.length === 0 && !options.allowEmpty
      if (empty || unknown.length > 0 || new Set(names).size !== names.length) {
        return Either.left(
          ConfigError.InvalidData([], `expected distinct names among ${known.join(", ")} separated by commas`)
        )
      }
      return Either.right(names as ReadonlyArray<string> as ReadonlyArray<Name>)
    })
  )
