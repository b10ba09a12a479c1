import type { SignedReport } from "@tapline/domain"
import { Effect } from "effect"
import PDFDocument from "pdfkit"

/*
 * The PDF of a signed report, for people: the range, the figures, the audit trail, and the key id and signature
 * printed so a reader can match it with the JSON file (which is what verifies; the PDF is not signed itself).
 * pdfkit with its built-in Helvetica: no font files, and text that `pdftotext` reads back. Figures are printed
 * as plain integers, the same digits as in the JSON.
 */

const render = (signed: SignedReport): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const report = signed.report
    const doc = new PDFDocument({
      size: "A4",
      margin: 50,
      info: {
        Title: `Tapline report ${report.id}`,
        Author: "Tapline",
        CreationDate: new Date(report.issuedAt)
      }
    })
    const chunks: Array<Buffer> = []
    doc.on("data", (chunk: Buffer) => chunks.push(chunk))
    doc.on("end", () => resolve(Buffer.concat(chunks)))
    doc.on("error", reject)

    const heading = (text: string) =>
      doc.moveDown(0.8).font("Helvetica-Bold").fontSize(13).text(text).moveDown(0.3)
    const line = (text: string) => doc.font("Helvetica").fontSize(10).text(text)
    const row = (label: string, value: string | number) =>
      doc
        .font("Helvetica")
        .fontSize(10)
        .text(`${label}: `, { continued: true })
        .font("Helvetica-Bold")
        .text(String(value))

    doc.font("Helvetica-Bold").fontSize(18).text("Tapline sponsor report")
    doc.moveDown(0.3)
    row("Organisation", report.organization.name)
    row("Activation", report.activation.name)
    row("Report", report.id)
    row("Range", `${report.range.from} to ${report.range.to}`)
    row("Issued", report.issuedAt)

    const f = report.figures
    heading("Figures (bot-free, de-duplicated)")
    row("Taps", f.taps)
    row("Unique bands", f.uniqueBands)
    row("Excluded bot taps", f.excluded.botTaps)
    row("Excluded duplicate taps", f.excluded.duplicateTaps)
    if (f.windows.length > 0) {
      heading("Per window")
      for (const w of f.windows) {
        line(`${w.type} ${w.title || w.windowId}: taps ${w.taps}, unique bands ${w.uniqueBands}`)
      }
    }
    if (f.tags.length > 0) {
      heading("Per tag")
      for (const t of f.tags) line(`${t.name}: taps ${t.taps}, unique bands ${t.uniqueBands}`)
    }
    if (f.bands.length > 0) {
      heading("Per band")
      for (const b of f.bands) line(`${b.bandUid}: taps ${b.taps}`)
    }

    heading("Audit trail of the activation")
    if (report.auditTrail.length === 0) line("No recorded changes.")
    for (const entry of report.auditTrail) {
      const who = entry.actor.id === null ? entry.actor.type : `${entry.actor.type} ${entry.actor.id}`
      const what = entry.changed.length === 0 ? entry.action : `${entry.action} (${entry.changed.join(", ")})`
      line(`${entry.at}  ${who}  ${what}`)
    }

    heading("Signature")
    row("Algorithm", signed.algorithm)
    row("Key id", signed.keyId)
    line("Signature (base64):")
    doc.font("Courier").fontSize(8).text(signed.signature)
    doc.moveDown(0.5)
    line(
      "Verify the JSON file of this report offline: tapline report:verify report.json --key report-keys.json " +
        "(the keys are published at /.well-known/tapline/report-keys.json). Authenticity verdicts: not yet available."
    )
    doc.end()
  })

export const renderPdf = (signed: SignedReport) =>
  Effect.tryPromise({ try: () => render(signed), catch: (cause) => cause }).pipe(Effect.orDie)
