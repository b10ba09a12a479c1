import type { ConfigError } from "effect"

interface Leaf {
  readonly path: ReadonlyArray<string>
  readonly message: string
}

const leaves = (error: ConfigError.ConfigError): ReadonlyArray<Leaf> => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...leaves(error.left), ...leaves(error.right)]
    case "SourceUnavailable":
    case "Unsupported":
    case "InvalidData":
    case "MissingData":
      return [{ path: error.path, message: error.message }]
  }
}

/**
 * One line naming the variable, as an operator reads it in a crash loop:
 * `Invalid configuration: PORT: Expected a network port value but received 'abc'`.
 */
export const describeConfigError = (error: ConfigError.ConfigError): string => {
  const all = leaves(error)
  const first = all[0]
  if (first === undefined) return "Invalid configuration"
  const name = first.path.length > 0 ? first.path.join("_") : "configuration"
  const more = all.length > 1 ? ` (and ${all.length - 1} more)` : ""
  return `Invalid configuration: ${name}: ${first.message}${more}`
}
