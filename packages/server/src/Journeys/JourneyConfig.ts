import { Config, Duration } from "effect"

/** The journey engine's settings; none is required. */
export const config = Config.all({
  /**
   * The longest an idle sender sleeps: it wakes sooner when its process's tap sink queues messages and when the
   * next queued message falls due. Scheduled triggers and other processes' messages are found at this pace.
   */
  pollInterval: Config.duration("JOURNEY_POLL_INTERVAL").pipe(Config.withDefault(Duration.seconds(1))),
  /** Messages taken per round, across organisations. */
  batch: Config.integer("JOURNEY_SEND_BATCH").pipe(Config.withDefault(20)),
  /**
   * Messages of one organisation per round while another organisation has messages due: the rest of the round
   * goes to the others (fairness). An organisation alone takes the whole round.
   */
  perOrganization: Config.integer("JOURNEY_ORGANIZATION_CONCURRENCY").pipe(Config.withDefault(5)),
  /** The wait before each retry of a failed send; past the last one the message is dead (redrive sends it). */
  retryDelays: Config.array(Config.duration(), "JOURNEY_RETRY_DELAYS").pipe(
    Config.withDefault([
      Duration.minutes(1),
      Duration.minutes(5),
      Duration.minutes(30),
      Duration.hours(2),
      Duration.hours(6)
    ])
  ),
  /** How long a claimed message is its sender's; past it (the sender died) another sender takes it. */
  lease: Config.duration("JOURNEY_SEND_LEASE").pipe(Config.withDefault(Duration.minutes(5))),
  /**
   * The email provider account's rate, in messages a second, shared by every sender (through the rate
   * limiter's store: Redis where configured). Unset: as fast as the sends go.
   */
  emailRate: Config.option(
    Config.number("JOURNEY_EMAIL_RATE").pipe(
      Config.validate({ message: "a positive number of messages a second", validation: (n) => n > 0 })
    )
  ),
  /** The SMS provider account's rate (JOURNEY_SMS_RATE), as JOURNEY_EMAIL_RATE is email's. Unset: unpaced. */
  smsRate: Config.option(
    Config.number("JOURNEY_SMS_RATE").pipe(
      Config.validate({ message: "a positive number of messages a second", validation: (n) => n > 0 })
    )
  ),
  /** The push providers' rate (JOURNEY_PUSH_RATE), in notifications a second (one per device). Unset: unpaced. */
  pushRate: Config.option(
    Config.number("JOURNEY_PUSH_RATE").pipe(
      Config.validate({ message: "a positive number of notifications a second", validation: (n) => n > 0 })
    )
  ),
  /** Sends in flight at once in one sender, started in the claim's order. */
  concurrency: Config.integer("JOURNEY_SEND_CONCURRENCY").pipe(
    Config.validate({ message: "at least 1", validation: (n) => n >= 1 }),
    Config.withDefault(8)
  )
})
export type JourneyConfig = Config.Config.Success<typeof config>
