import { freePort } from "@tapline/testing/ports"
import {
  Cause,
  ConfigProvider,
  Context,
  Effect,
  Either,
  Exit,
  Inspectable,
  Layer,
  Option,
  Redacted,
  type Scope
} from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AppConfig, appConfig } from "../src/Config/AppConfig.js"
import { describeConfigError } from "../src/Config/describeConfigError.js"
import * as Failover from "../src/Sms/Failover.js"
import * as LogSms from "../src/Sms/LogSms.js"
import * as SmsProviders from "../src/Sms/providers.js"
import { Sms, type SmsError, type SmsMessage, type SmsShape } from "../src/Sms/Sms.js"
import * as SnsSms from "../src/Sms/SnsSms.js"
import * as TwilioSms from "../src/Sms/TwilioSms.js"
import * as VonageSms from "../src/Sms/VonageSms.js"
import * as Metrics from "../src/Telemetry/Metrics.js"
import {
  type Reply,
  type SmsDialect,
  type SmsPeer,
  type SmsRequest,
  snsAttributes,
  sns as snsDialect,
  snsError,
  startSmsPeer,
  twilio as twilioDialect,
  vonage as vonageDialect
} from "./support/SmsPeers.js"

/*
 * One contract for every SMS provider (issue 34). Twilio, SNS and Vonage are pointed at loopback peers that hold
 * each request to what the provider documents (support/SmsPeers.ts) and answer what it documents: accepted (the
 * receipt's id is taken from that answer), a permanent refusal of the number, a 5xx, a 429 with Retry-After, a
 * rejected credential, or nothing at all. Then failover over two of them, and the configuration.
 */

const TIMEOUT = "400 millis"
const SECRETS = /twilio-token-secret|vonage-secret-value|sns-secret-key/

const message: SmsMessage = {
  id: "0f8fad5b-d9cb-469f-a165-70867728950e",
  to: "+447700900123",
  // A bell, a carriage return and a C1 control: none reaches the provider; the check mark makes it UCS-2.
  text: "Your band is ready ✓\r\nSee you\u0007 at the gate\u0085!"
}
const cleanText = "Your band is ready ✓\nSee you at the gate!"

const run = <A>(effect: Effect.Effect<A, SmsError, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(Effect.either(effect)))

const failureOf = (result: Either.Either<unknown, SmsError>) => Either.getLeft(result).pipe(Option.getOrThrow)

interface Provider {
  readonly dialect: SmsDialect
  readonly make: (url: string) => Effect.Effect<SmsShape, never, Scope.Scope>
  /** The request's parameters for `message`, exactly. */
  readonly assertForm: (request: SmsRequest) => void
}

const TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
const twilio: Provider = {
  dialect: twilioDialect(TWILIO_SID, "twilio-token-secret"),
  make: (url) =>
    Effect.succeed(
      TwilioSms.make({
        accountSid: TWILIO_SID,
        authToken: Redacted.make("twilio-token-secret"),
        from: "+15005550006",
        apiUrl: url,
        statusCallback: Option.some("https://tapline.test/hooks/sms/twilio/status"),
        timeout: TIMEOUT
      })
    ),
  assertForm: (request) =>
    expect(request.form).toEqual({
      To: message.to,
      From: "+15005550006",
      Body: cleanText,
      StatusCallback: "https://tapline.test/hooks/sms/twilio/status"
    })
}

const vonage: Provider = {
  dialect: vonageDialect("vonage-key", "vonage-secret-value"),
  make: (url) =>
    Effect.succeed(
      VonageSms.make({
        apiKey: "vonage-key",
        apiSecret: Redacted.make("vonage-secret-value"),
        from: "Tapline",
        apiUrl: url,
        timeout: TIMEOUT
      })
    ),
  assertForm: (request) =>
    expect(request.form).toEqual({
      from: "Tapline",
      to: "447700900123",
      text: cleanText,
      type: "unicode",
      "client-ref": message.id
    })
}

const sns: Provider = {
  dialect: snsDialect("AKIDSNSTEST", "eu-west-1"),
  make: (url) =>
    SnsSms.make({
      region: "eu-west-1",
      endpoint: Option.some(url),
      credentials: Option.some({
        accessKeyId: "AKIDSNSTEST",
        secretAccessKey: Redacted.make("sns-secret-key")
      }),
      senderId: Option.some("Tapline"),
      originationNumber: Option.none(),
      timeout: TIMEOUT
    }),
  assertForm: (request) => {
    const { Action, Version, PhoneNumber, Message } = request.form
    expect({ Action, Version, PhoneNumber, Message }).toEqual({
      Action: "Publish",
      Version: "2010-03-31",
      PhoneNumber: message.to,
      Message: cleanText
    })
    expect(snsAttributes(request.form)).toEqual({
      "AWS.SNS.SMS.SMSType": "String:Transactional",
      "AWS.SNS.SMS.SenderID": "String:Tapline"
    })
  }
}

const peers = new Map<string, SmsPeer>()
beforeAll(async () => {
  for (const provider of [twilio, vonage, sns])
    peers.set(provider.dialect.name, await startSmsPeer(provider.dialect))
})
afterAll(() => Promise.all([...peers.values()].map((peer) => peer.close())))

for (const provider of [twilio, sns, vonage]) {
  const name = provider.dialect.name
  describe(`SMS contract: ${name}`, () => {
    const send = (replies: ReadonlyArray<Reply>, sent: SmsMessage = message) => {
      const peer = peers.get(name)!
      peer.reset()
      peer.reply(...replies)
      return run(Effect.flatMap(provider.make(peer.url), (sms) => sms.send(sent)))
    }
    const peer = () => peers.get(name)!

    it("sends exactly the documented request, and the receipt carries the id from the provider's answer", async () => {
      const result = await send([provider.dialect.accepted(`${name}-id-1`)])
      expect(peer().problems).toEqual([])
      expect(Either.getOrThrow(result)).toEqual({ provider: name, providerMessageId: `${name}-id-1` })
      expect(peer().requests).toHaveLength(1)
      provider.assertForm(peer().requests[0]!)
    })

    it("refuses a number that is not E.164, or a text of control characters only, as permanent without asking", async () => {
      for (const bad of [
        { ...message, to: "07700 900123" },
        { ...message, to: "+0447700900123" },
        { ...message, to: "+4477009001234567" },
        { ...message, text: "\u0000\r\n\u0007" }
      ]) {
        const error = failureOf(await send([], bad))
        expect(error.failure, bad.to).toBe("permanent")
        expect(error.provider).toBe(name)
      }
      expect(peer().requests).toHaveLength(0)
    })

    it("the documented refusal of the number is permanent; the error says why, without the secret", async () => {
      const error = failureOf(await send([provider.dialect.refused]))
      expect(peer().problems).toEqual([])
      expect(error.failure).toBe("permanent")
      expect(error.provider).toBe(name)
      expect(error.message).toMatch(/InvalidParameter|21211|status 6/)
      expect(error.message).not.toMatch(SECRETS)
    })

    it("a 5xx is transient", async () => {
      expect(failureOf(await send([provider.dialect.unavailable])).failure).toBe("transient")
    })

    it("a 429 is transient and carries its Retry-After", async () => {
      const error = failureOf(await send([provider.dialect.rateLimited(7)]))
      expect(error.failure).toBe("transient")
      expect(error.retryAfterSeconds).toBe(7)
    })

    it("a rejected credential (401, 403) is transient: another provider can send it", async () => {
      for (const status of [401, 403]) {
        const error = failureOf(
          await send([{ status, headers: { "content-type": "application/json" }, body: "{}" }])
        )
        expect(error.failure).toBe("transient")
        expect(error.message).not.toMatch(SECRETS)
      }
    })

    it("a peer that never answers is a transient timeout", async () => {
      expect(failureOf(await send(["stall"])).failure).toBe("transient")
    })

    it("a peer that is not listening is transient", async () => {
      const port = await freePort()
      const result = await run(
        Effect.flatMap(provider.make(`http://127.0.0.1:${port}`), (sms) => sms.send(message))
      )
      expect(failureOf(result).failure).toBe("transient")
    })
  })
}

describe("SMS contract: what each provider documents beyond the contract", () => {
  const through = async (provider: Provider, replies: ReadonlyArray<Reply>, make = provider.make) => {
    const peer = peers.get(provider.dialect.name)!
    peer.reset()
    peer.reply(...replies)
    const result = await run(Effect.flatMap(make(peer.url), (sms) => sms.send(message)))
    expect(peer.problems).toEqual([])
    return { result, requests: peer.requests }
  }
  const twilioError = (status: number, code: number) =>
    ({
      status,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code, message: `error ${code}`, more_info: "", status })
    }) as const

  it("twilio: a Messaging Service SID goes as MessagingServiceSid, and no StatusCallback without PUBLIC_URL", async () => {
    const { result, requests } = await through(twilio, [twilio.dialect.accepted("SM1")], (url) =>
      Effect.succeed(
        TwilioSms.make({
          accountSid: TWILIO_SID,
          authToken: Redacted.make("twilio-token-secret"),
          from: "MG9752274e9e519418a7406176694466fa",
          apiUrl: url,
          statusCallback: Option.none(),
          timeout: TIMEOUT
        })
      )
    )
    expect(Either.isRight(result)).toBe(true)
    expect(requests[0]!.form).toEqual({
      To: message.to,
      MessagingServiceSid: "MG9752274e9e519418a7406176694466fa",
      Body: cleanText
    })
  })

  it("twilio: 21610 (STOP), 21614 (no mobile) permanent; 21606 (sender), 21408 (region) transient", async () => {
    const failure = async (code: number) =>
      failureOf((await through(twilio, [twilioError(400, code)])).result).failure
    expect(await failure(21610)).toBe("permanent")
    expect(await failure(21614)).toBe("permanent")
    expect(await failure(21606)).toBe("transient")
    expect(await failure(21408)).toBe("transient")
  })

  it("vonage: a GSM 7-bit text goes as type=text; the first part's message-id is the receipt", async () => {
    const peer = peers.get("vonage")!
    peer.reset()
    peer.reply({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        "message-count": "2",
        messages: [
          { to: "447700900123", "message-id": "part-1", status: "0" },
          { to: "447700900123", "message-id": "part-2", status: "0" }
        ]
      })
    })
    const sms = Effect.runSync(vonage.make(peer.url).pipe(Effect.scoped))
    const result = await run(
      sms.send({ ...message, text: "Hello Ana, your band is ready: 10€ credit {gate} @ 5pm" })
    )
    expect(peer.problems).toEqual([])
    expect(Either.getOrThrow(result).providerMessageId).toBe("part-1")
    expect(peer.requests[0]!.form.type).toBe("text")
  })

  it("vonage: a 200's status 1 (throttled), 4 (credentials), 9 (credit) transient; 7 (barred) permanent", async () => {
    const status = (code: string) => ({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        "message-count": "1",
        messages: [{ status: code, "error-text": `status ${code}` }]
      })
    })
    const failure = async (code: string) => failureOf((await through(vonage, [status(code)])).result).failure
    expect(await failure("1")).toBe("transient")
    expect(await failure("4")).toBe("transient")
    expect(await failure("9")).toBe("transient")
    expect(await failure("7")).toBe("permanent")
  })

  it("sns: throttling sent as a 400 (the Query protocol's way) is transient; an opted-out number is permanent", async () => {
    const throttled = await through(sns, [snsError(400, "Sender", "Throttling", "Rate exceeded")])
    expect(failureOf(throttled.result).failure).toBe("transient")
    const optedOut = await through(sns, [
      snsError(
        400,
        "Sender",
        "InvalidParameter",
        "Invalid parameter: PhoneNumber Reason: the number is opted out"
      )
    ])
    expect(failureOf(optedOut.result).failure).toBe("permanent")
  })

  it("sns: the origination number goes as AWS.MM.SMS.OriginationNumber beside the SMS type", async () => {
    const { result, requests } = await through(sns, [sns.dialect.accepted("sns-origin")], (url) =>
      SnsSms.make({
        region: "eu-west-1",
        endpoint: Option.some(url),
        credentials: Option.some({
          accessKeyId: "AKIDSNSTEST",
          secretAccessKey: Redacted.make("sns-secret-key")
        }),
        senderId: Option.none(),
        originationNumber: Option.some("+15005550006"),
        timeout: TIMEOUT
      })
    )
    expect(Either.getOrThrow(result).providerMessageId).toBe("sns-origin")
    expect(snsAttributes(requests[0]!.form)).toEqual({
      "AWS.SNS.SMS.SMSType": "String:Transactional",
      "AWS.MM.SMS.OriginationNumber": "String:+15005550006"
    })
  })

  it("an accepted answer without its id is still sent (a retry would send it twice); a Vonage 200 without a status is not", async () => {
    const twilioAccepted = await through(twilio, [
      {
        status: 201,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ status: "queued" })
      }
    ])
    expect(Either.getOrThrow(twilioAccepted.result)).toEqual({ provider: "twilio", providerMessageId: "" })
    const vonageSilent = await through(vonage, [
      {
        status: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ "message-count": "0" })
      }
    ])
    expect(failureOf(vonageSilent.result).failure).toBe("transient")
  })

  it('vonage: a sender number loses its "+" as the SMS API documents', async () => {
    const { requests } = await through(vonage, [vonage.dialect.accepted("v-from")], (url) =>
      Effect.succeed(
        VonageSms.make({
          apiKey: "vonage-key",
          apiSecret: Redacted.make("vonage-secret-value"),
          from: "+15005550006",
          apiUrl: url,
          timeout: TIMEOUT
        })
      )
    )
    expect(requests[0]!.form.from).toBe("15005550006")
  })
})

describe("SMS contract: log", () => {
  it("accepts every E.164 message with a fresh id, and refuses what the others refuse", async () => {
    const receipt = Either.getOrThrow(await run(LogSms.make.send(message)))
    expect(receipt.provider).toBe("log")
    expect(receipt.providerMessageId).toMatch(/^[0-9a-f-]{36}$/)
    expect(failureOf(await run(LogSms.make.send({ ...message, to: "12345" }))).failure).toBe("permanent")
  })
})

describe("SMS failover", () => {
  const counted: Array<string> = []
  const failover = () => {
    counted.length = 0
    for (const peer of peers.values()) peer.reset()
    return Effect.runSync(
      Effect.scoped(
        Effect.all([twilio.make(peers.get("twilio")!.url), vonage.make(peers.get("vonage")!.url)]).pipe(
          Effect.map((providers) =>
            Failover.make(providers, (provider, outcome) => counted.push(`${provider}:${outcome}`))
          )
        )
      )
    )
  }

  it("names its providers in order", () => {
    expect(failover().provider).toBe("twilio,vonage")
  })

  it("the first's 5xx, 429 or timeout moves the message to the second; the receipt names the second", async () => {
    for (const trouble of [twilio.dialect.unavailable, twilio.dialect.rateLimited(30), "stall" as const]) {
      const sms = failover()
      peers.get("twilio")!.reply(trouble)
      peers.get("vonage")!.reply(vonage.dialect.accepted("vonage-after-failover"))
      const receipt = Either.getOrThrow(await run(sms.send(message)))
      expect(receipt).toEqual({ provider: "vonage", providerMessageId: "vonage-after-failover" })
      expect(peers.get("vonage")!.requests).toHaveLength(1)
      expect(counted).toEqual(["twilio:transient", "vonage:sent"])
    }
  })

  it("a permanent refusal stops the list: the second provider is not asked", async () => {
    const sms = failover()
    peers.get("twilio")!.reply(twilio.dialect.refused)
    const error = failureOf(await run(sms.send(message)))
    expect(error.failure).toBe("permanent")
    expect(peers.get("vonage")!.requests).toHaveLength(0)
    expect(counted).toEqual(["twilio:permanent"])
  })

  it("when every provider fails transiently the error is transient, with the smallest Retry-After", async () => {
    const sms = failover()
    peers.get("twilio")!.reply(twilio.dialect.rateLimited(30))
    peers.get("vonage")!.reply(vonage.dialect.rateLimited(12))
    const error = failureOf(await run(sms.send(message)))
    expect(error).toMatchObject({ failure: "transient", retryAfterSeconds: 12, provider: "twilio,vonage" })
    expect(error.message).toContain("twilio answered 429")
    expect(error.message).toContain("vonage answered 429")
  })

  it("a number that is not E.164 is refused once, before any provider is asked or counted", async () => {
    const sms = failover()
    expect(failureOf(await run(sms.send({ ...message, to: "+44 7700 900123" }))).failure).toBe("permanent")
    expect(peers.get("twilio")!.requests).toHaveLength(0)
    expect(counted).toEqual([])
  })

  it("no provider configured: every send fails permanently, saying so", async () => {
    const none = Failover.make([])
    expect(none.provider).toBe("")
    const error = failureOf(await run(none.send(message)))
    expect(error.failure).toBe("permanent")
    expect(error.message).toBe("no SMS provider is configured (SMS_PROVIDERS)")
  })
})

describe("SMS configuration", () => {
  const withEnv = <A, E>(env: Record<string, string>, effect: Effect.Effect<A, E, Scope.Scope>) =>
    Effect.runPromiseExit(
      Effect.scoped(effect).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
      )
    )

  /** The SMS port built as the server builds it, from the environment. */
  const layer = SmsProviders.layerConfig.pipe(
    Layer.provideMerge(Metrics.layer),
    Layer.provideMerge(AppConfig.layer)
  )

  it("SMS_PROVIDERS: an ordered list, none when unset or empty; a bad name names the variable", async () => {
    const providers = async (env: Record<string, string>) => {
      const exit = await withEnv(env, Effect.either(appConfig))
      const result = Exit.getOrElse(exit, () => {
        throw new Error("no config")
      })
      return Either.isRight(result) ? result.right.sms.providers : describeConfigError(result.left)
    }
    expect(await providers({})).toEqual([])
    expect(await providers({ SMS_PROVIDERS: "" })).toEqual([])
    expect(await providers({ SMS_PROVIDERS: " Vonage, twilio ,log" })).toEqual(["vonage", "twilio", "log"])
    expect(await providers({ SMS_PROVIDERS: "twilio,pigeon" })).toMatch(
      /^Invalid configuration: SMS_PROVIDERS: /
    )
    expect(await providers({ SMS_PROVIDERS: "log,log" })).toMatch(/^Invalid configuration: SMS_PROVIDERS: /)
  })

  it("a named provider missing one of its variables stops the start, naming it", async () => {
    const twilioEnv = { TWILIO_ACCOUNT_SID: TWILIO_SID, TWILIO_AUTH_TOKEN: "t", TWILIO_FROM: "+15005550006" }
    const vonageEnv = { VONAGE_API_KEY: "k", VONAGE_API_SECRET: "s", VONAGE_FROM: "Tapline" }
    const cases: ReadonlyArray<[string, Record<string, string>, string]> = [
      ...Object.keys(twilioEnv).map((variable): [string, Record<string, string>, string] => [
        "twilio",
        Object.fromEntries(Object.entries(twilioEnv).filter(([name]) => name !== variable)),
        variable
      ]),
      ...Object.keys(vonageEnv).map((variable): [string, Record<string, string>, string] => [
        "vonage",
        Object.fromEntries(Object.entries(vonageEnv).filter(([name]) => name !== variable)),
        variable
      ]),
      ["sns", {}, "SNS_REGION"],
      ["sns", { SNS_REGION: "eu-west-1", SNS_ACCESS_KEY_ID: "AKID" }, "SNS_SECRET_ACCESS_KEY"]
    ]
    for (const [name, env, variable] of cases) {
      const exit = await withEnv({ SMS_PROVIDERS: `log,${name}`, ...env }, Layer.build(layer))
      expect(Exit.isFailure(exit), variable).toBe(true)
      const defect = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
      expect(defect).toContain(variable)
    }
    // All there: it starts.
    const exit = await withEnv(
      { SMS_PROVIDERS: "twilio,vonage", ...twilioEnv, ...vonageEnv },
      Layer.build(layer)
    )
    expect(Exit.isSuccess(exit)).toBe(true)
  })

  it("the auth token and API secret are Redacted: printing the settings shows neither", async () => {
    const exit = await withEnv(
      {
        TWILIO_AUTH_TOKEN: "twilio-token-secret",
        VONAGE_API_SECRET: "vonage-secret-value",
        SNS_SECRET_ACCESS_KEY: "x"
      },
      Effect.all([TwilioSms.config, VonageSms.config])
    )
    const settings = Exit.getOrElse(exit, () => {
      throw new Error("no config")
    })
    expect(Redacted.isRedacted(Option.getOrThrow(settings[0].authToken))).toBe(true)
    expect(Redacted.isRedacted(Option.getOrThrow(settings[1].apiSecret))).toBe(true)
    expect(
      `${Inspectable.format(settings)} ${JSON.stringify(settings)} ${String(settings[0].authToken)}`
    ).not.toMatch(SECRETS)
  })

  it("as the server builds it: unset refuses; set, it fails over, counts, and has Twilio call PUBLIC_URL", async () => {
    const none = await withEnv(
      {},
      Effect.flatMap(Layer.build(layer), (context) => {
        const sms = Context.get(context, Sms)
        return Effect.map(Effect.either(sms.send(message)), (result) => ({ provider: sms.provider, result }))
      })
    )
    const unconfigured = Exit.getOrElse(none, () => {
      throw new Error("did not start")
    })
    expect(unconfigured.provider).toBe("")
    expect(failureOf(unconfigured.result).failure).toBe("permanent")

    const twilioPeer = peers.get("twilio")!
    const vonagePeer = peers.get("vonage")!
    twilioPeer.reset()
    vonagePeer.reset()
    twilioPeer.reply(twilio.dialect.unavailable)
    vonagePeer.reply(vonage.dialect.accepted("via-config"))
    const env = {
      SMS_PROVIDERS: "twilio,vonage",
      SMS_TIMEOUT: "2 seconds",
      PUBLIC_URL: "https://tapline.test",
      TWILIO_ACCOUNT_SID: TWILIO_SID,
      TWILIO_AUTH_TOKEN: "twilio-token-secret",
      TWILIO_FROM: "+15005550006",
      TWILIO_API_URL: twilioPeer.url,
      VONAGE_API_KEY: "vonage-key",
      VONAGE_API_SECRET: "vonage-secret-value",
      VONAGE_FROM: "Tapline",
      VONAGE_API_URL: vonagePeer.url
    }
    const configured = await withEnv(
      env,
      Effect.flatMap(Layer.build(layer), (context) =>
        Effect.gen(function* () {
          const sms = Context.get(context, Sms)
          const receipt = yield* sms.send(message)
          const text = yield* Metrics.scrape(Context.get(context, Metrics.Metrics))
          return { provider: sms.provider, receipt, text }
        })
      )
    )
    const { provider, receipt, text } = Exit.getOrElse(configured, (cause) => {
      throw new Error(Cause.pretty(cause))
    })
    expect(twilioPeer.problems).toEqual([])
    expect(vonagePeer.problems).toEqual([])
    expect(provider).toBe("twilio,vonage")
    expect(receipt).toEqual({ provider: "vonage", providerMessageId: "via-config" })
    expect(twilioPeer.requests[0]!.form.StatusCallback).toBe("https://tapline.test/hooks/sms/twilio/status")
    expect(text).toContain('tapline_sms_total{provider="twilio",outcome="transient"} 1')
    expect(text).toContain('tapline_sms_total{provider="vonage",outcome="sent"} 1')
  })
})
