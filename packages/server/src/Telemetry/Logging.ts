import { Cause, Context, Effect, FiberRef, FiberRefs, HashMap, Layer, List, Logger, Tracer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { redactSecrets, redactValue } from "./Redaction.js"

const serialize = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.length === 1 ? serialize(value[0]) : value.map(serialize)
  return value
}

/**
 * One JSON object per line with the trace and span ids of the current span, so a log line leads to its
 * trace. Redacted values print as `<redacted>` through their own toJSON; credentials in text (a token in a
 * request URL, a link in a mail body) are redacted by their shape (Redaction.ts).
 */
export const jsonLogger = Logger.make(({ annotations, cause, context, date, logLevel, message, spans }) => {
  const span = Context.getOption(FiberRefs.getOrDefault(context, FiberRef.currentContext), Tracer.ParentSpan)
  const record: Record<string, unknown> = {
    time: date.toISOString(),
    level: logLevel.label,
    message: redactValue(serialize(message))
  }
  for (const [key, value] of HashMap.toEntries(annotations)) record[key] = redactValue(value)
  if (span._tag === "Some") {
    record.trace_id = span.value.traceId
    record.span_id = span.value.spanId
  }
  if (!List.isNil(spans)) record.spans = List.toArray(spans).map((s) => s.label)
  if (!Cause.isEmpty(cause)) record.cause = redactSecrets(Cause.pretty(cause, { renderErrorCause: true }))
  process.stdout.write(`${JSON.stringify(record)}\n`)
})

/** JSON lines by default, Effect's pretty printer when LOG_FORMAT=pretty; the minimum level from LOG_LEVEL. */
export const layer = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ telemetry }) =>
    Layer.merge(
      Logger.replace(
        Logger.defaultLogger,
        telemetry.logFormat === "json" ? jsonLogger : Logger.prettyLoggerDefault
      ),
      Logger.minimumLogLevel(telemetry.logLevel)
    )
  )
)
