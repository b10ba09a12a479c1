import { Effect } from "effect"
import { SmsError, type SmsMessage } from "./Sms.js"

/** E.164: a "+", a first digit that is not 0, and at most 15 digits in all. */
const E164 = /^\+[1-9]\d{1,14}$/

/** Control characters (Unicode's Cc: C0, DEL, C1): handsets show them as boxes, or gateways drop the message. */
const CONTROL = /\p{Cc}/gu

/**
 * The message as a provider may send it: `to` in E.164 and the text without control characters (a carriage
 * return before a line feed goes; a lone one becomes a line feed). A `to` that is not E.164, or a text with
 * nothing left, is refused here as permanent, before any provider is asked: every one would refuse it too.
 */
export const prepare = (provider: string, message: SmsMessage): Effect.Effect<SmsMessage, SmsError> => {
  const to = message.to.trim()
  if (!E164.test(to)) {
    return Effect.fail(
      new SmsError({ provider, failure: "permanent", message: "the recipient is not an E.164 phone number" })
    )
  }
  // Line feeds stay: they are the one control character a text message means.
  const text = message.text
    .replace(/\r\n?/g, "\n")
    .replace(CONTROL, (char) => (char === "\n" ? char : ""))
    .trim()
  if (text.length === 0) {
    return Effect.fail(new SmsError({ provider, failure: "permanent", message: "the message has no text" }))
  }
  return Effect.succeed({ ...message, to, text })
}

/**
 * The GSM 03.38 default alphabet and its extension table: a text of these only goes as 7-bit GSM (160
 * characters a part); anything else needs UCS-2 (70 a part), which Vonage must be told (`type=unicode`).
 */
const GSM7 =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
  "¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€\f"

const GSM7_SET = new Set(GSM7)

export const isGsm7 = (text: string): boolean => [...text].every((char) => GSM7_SET.has(char))
