import type { Recap } from "@tapline/domain"
import { DateTime, Effect } from "effect"
import PDFDocument from "pdfkit"

/*
 * A recap as the files an organiser hands on: Markdown (the text as edited, and a footer saying where its
 * figures came from) and a PDF of the same. pdfkit with its built-in Helvetica, as the sponsor reports: no
 * font files, text `pdftotext` reads back. The PDF renders the Markdown a recap uses (headings, bullets,
 * bold) and prints the rest as written. Helvetica covers Latin-1: other characters become "?".
 */

const footer = (recap: Recap) => {
  const generated = DateTime.formatIso(recap.createdAt).slice(0, 16).replace("T", " ")
  const tools = [...new Set(recap.toolCalls.map((call) => call.name))].join(", ") || "none"
  const grounded = recap.grounding.grounded
    ? "every number matched a Tapline query"
    : `unverified numbers: ${recap.grounding.unmatched.join(", ")}`
  const edited = recap.editedAt === null ? "" : "; edited since"
  return `Written by ${recap.provider} (${recap.model}) on ${generated} UTC from Tapline's analytics (${tools}); ${grounded}${edited}.`
}

export const toMarkdown = (recap: Recap) => `${recap.text.trimEnd()}\n\n---\n\n${footer(recap)}\n`

export const fileName = (recap: Recap, extension: "md" | "pdf") => `recap-${recap.id}.${extension}`

/** Latin-1 only (the built-in font's range); control characters dropped. */
const printable = (text: string) =>
  Array.from(text, (char) => {
    const code = char.codePointAt(0)!
    if (code === 9 || code === 10) return char
    if (code < 32 || code === 127) return ""
    return code > 255 ? "?" : char
  }).join("")

const render = (recap: Recap): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: "A4",
      margin: 56,
      info: { Title: `Tapline recap: ${printable(recap.subject.name)}`, Author: "Tapline" }
    })
    const chunks: Array<Buffer> = []
    doc.on("data", (chunk: Buffer) => chunks.push(chunk))
    doc.on("end", () => resolve(Buffer.concat(chunks)))
    doc.on("error", reject)

    /** A line with its **bold** runs. */
    const inline = (line: string, size: number, indent = 0) => {
      const runs = printable(line).split(/\*\*(.+?)\*\*/g)
      doc.fontSize(size)
      runs.forEach((run, index) => {
        doc.font(index % 2 === 1 ? "Helvetica-Bold" : "Helvetica").text(run.replaceAll("*", ""), {
          continued: index < runs.length - 1,
          indent
        })
      })
    }

    for (const raw of recap.text.split("\n")) {
      const line = raw.trimEnd()
      const heading = /^(#{1,6})\s+(.*)$/.exec(line)
      if (heading !== null) {
        const size = heading[1]!.length === 1 ? 18 : 13
        doc.moveDown(0.5).font("Helvetica-Bold").fontSize(size).text(printable(heading[2]!)).moveDown(0.3)
      } else if (/^\s*[-*]\s+/.test(line)) {
        inline(`- ${line.replace(/^\s*[-*]\s+/, "")}`, 11, 12)
      } else if (line === "") {
        doc.moveDown(0.5)
      } else {
        inline(line, 11)
      }
    }
    doc
      .moveDown(1.5)
      .font("Helvetica-Oblique")
      .fontSize(8)
      .fillColor("#555")
      .text(printable(footer(recap)))
    doc.end()
  })

export const toPdf = (recap: Recap) => Effect.promise(() => render(recap))
