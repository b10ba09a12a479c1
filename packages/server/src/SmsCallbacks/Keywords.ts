/**
 * What an inbound SMS asks for. Carriers (and the CTIA's messaging principles) treat these words as opt-out,
 * opt-in and help requests; the message must be the keyword alone, in any case and with any surrounding
 * whitespace or a trailing full stop or exclamation mark ("Stop.", " stop "). "Please stop texting me" is not
 * a keyword: carriers match the whole message, and guessing at sentences would withdraw consent nobody withdrew.
 */
export type Keyword = "stop" | "start" | "help" | "other"

const WORDS: ReadonlyMap<string, Keyword> = new Map([
  ...["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"].map((w) => [w, "stop"] as const),
  ...["START", "UNSTOP", "YES"].map((w) => [w, "start"] as const),
  ...["HELP", "INFO"].map((w) => [w, "help"] as const)
])

export const keywordOf = (text: string): Keyword => {
  const word = text
    .replace(/\s+/g, "")
    .replace(/[.!]+$/, "")
    .toUpperCase()
  return WORDS.get(word) ?? "other"
}
