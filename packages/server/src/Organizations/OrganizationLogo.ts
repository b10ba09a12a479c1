import type { UploadContentType } from "@tapline/domain"

/** Where Tapline serves an organisation's logo: `/logos/<organisation id>/<file>` (Http/Logos.ts). */
export const LOGO_PATH = /^\/logos\/([0-9a-f-]{36})\/([A-Za-z0-9-]{1,64}\.(?:png|jpg|webp))$/

/**
 * The image type the bytes really are, from their signature, whatever the uploader declared: a logo is shown
 * on Tapline's own pages, so an SVG (script) or an HTML file named .png must never be served as one.
 */
export const sniffImage = (
  bytes: Uint8Array
): { readonly contentType: UploadContentType; readonly ext: string } | null => {
  const starts = (...signature: Array<number>) => signature.every((byte, i) => bytes[i] === byte)
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return { contentType: "image/png", ext: "png" }
  if (starts(0xff, 0xd8, 0xff)) return { contentType: "image/jpeg", ext: "jpg" }
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to))
  if (bytes.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") {
    return { contentType: "image/webp", ext: "webp" }
  }
  return null
}

/** The path of a logo URL Tapline hosts, or null for any other URL (an organiser's own `logoUrl`). */
export const hostedLogoPath = (url: string | null | undefined): string | null => {
  if (url === null || url === undefined) return null
  try {
    const path = new URL(url).pathname
    return LOGO_PATH.test(path) ? path : null
  } catch {
    return null
  }
}
