import type { IncomingMessage } from "node:http"
import * as Net from "node:net"
import { isbot } from "isbot"

/* What the hot path reads from a request besides its query: headers, the bot verdict, the stored address. */

/** IPv4 to /24, IPv6 to /48: enough for abuse analysis, not enough to single out a phone. */
export const truncateIp = (ip: string): string => {
  if (Net.isIPv4(ip)) return ip.replace(/\.\d+$/, ".0")
  const groups = ip.split(":")
  return `${groups.slice(0, 3).join(":")}::`
}

/** isbot's pattern is large; user agents repeat, so remember recent answers (bounded). */
const botVerdicts = new Map<string, boolean>()
export const isBotAgent = (ua: string): boolean => {
  let verdict = botVerdicts.get(ua)
  if (verdict === undefined) {
    verdict = isbot(ua)
    if (botVerdicts.size >= 10_000) botVerdicts.clear()
    botVerdicts.set(ua, verdict)
  }
  return verdict
}

/** The last value of a header sent more than once (the one the nearest proxy added). */
export const headerValue = (request: IncomingMessage, name: string): string | undefined => {
  const value = request.headers[name.toLowerCase()]
  return Array.isArray(value) ? value[value.length - 1] : value
}
