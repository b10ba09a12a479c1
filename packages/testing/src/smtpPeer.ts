import { type ParsedMail, simpleParser } from "mailparser"
import { SMTPServer, type SMTPServerOptions } from "smtp-server"
import { freePort } from "./ports.js"

export interface SmtpPeer {
  readonly port: number
  /** Every mail received, parsed, in order (shared by restarts of the peer). */
  readonly received: Array<ParsedMail>
  /** The last mail to `address`, once it has arrived. */
  readonly lastMailTo: (address: string, waitMs?: number) => Promise<ParsedMail>
  readonly stop: () => Promise<void>
  /** Listens again on the same port after `stop`. */
  readonly restart: () => Promise<void>
}

/** A real SMTP server (smtp-server) on loopback that parses what it receives (mailparser). */
export const startSmtpPeer = async (
  options: { readonly onRcptTo?: SMTPServerOptions["onRcptTo"] } = {}
): Promise<SmtpPeer> => {
  const received: Array<ParsedMail> = []
  const port = await freePort()
  const make = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      ...(options.onRcptTo === undefined ? {} : { onRcptTo: options.onRcptTo }),
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then((mail) => {
            received.push(mail)
            callback()
          })
          .catch(callback)
      }
    })
  let server = make()
  const listen = () => new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  await listen()
  return {
    port,
    received,
    lastMailTo: async (address, waitMs = 10_000) => {
      const deadline = Date.now() + waitMs
      for (;;) {
        const mail = received.findLast((m) => m.to !== undefined && JSON.stringify(m.to).includes(address))
        if (mail) return mail
        if (Date.now() > deadline) throw new Error(`no email to ${address}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    restart: () => {
      server = make()
      return listen()
    }
  }
}
