/** What a chat alert says: a title and a few lines, written once for Slack, Discord and Teams alike. */
export interface ChatText {
  readonly title: string
  readonly lines: ReadonlyArray<string>
}

const text = (value: unknown) => (value === null || value === undefined ? "—" : String(value))

/** The alert of a message, in words an organiser reads in a channel. */
export const chatTextOf = (eventType: string, data: Record<string, unknown>): ChatText => {
  switch (eventType) {
    case "band.flagged":
      return {
        title: "Band flagged",
        lines: [`Band ${text(data.bandUid)} in event ${text(data.eventId)}`, `Reason: ${text(data.reason)}`]
      }
    case "band.assigned": {
      const bands = Array.isArray(data.bands) ? data.bands.length : 0
      return {
        title: data.automatic === true ? "Band assigned by a tap" : "Bands reassigned",
        lines: [`${bands} band(s) now in event ${text(data.eventId)}`]
      }
    }
    case "event.status_changed":
      return {
        title: data.to === "ACTIVE" ? "Event went live" : `Event is now ${text(data.to)}`,
        lines: [`${text(data.name ?? data.eventId)}: ${text(data.from)} → ${text(data.to)}`]
      }
    case "export.ready":
      return {
        title: "Export ready",
        lines: [
          `The ${text(data.kind)} export (${text(data.rows)} rows) can be downloaded until ${text(data.expiresAt)}`
        ]
      }
    case "import.completed":
      return {
        title: "Band import completed",
        lines: [
          `Event ${text(data.eventId)}: ${text(data.created)} created, ${text(data.updated)} updated, ${text(data.invalid)} invalid`
        ]
      }
    case "webhook.disabled":
      return {
        title: "Webhook endpoint disabled",
        lines: [
          `${text(data.url)} was disabled: ${text(data.reason)}`,
          "An owner can re-enable it once it answers again."
        ]
      }
    case "webhook.test":
      return { title: "Test message from Tapline", lines: ["This channel receives Tapline alerts."] }
    default:
      return { title: eventType, lines: [] }
  }
}
