/**
 * A download's `Content-Disposition` (RFC 6266): `filename` in plain ASCII for every client, and, when the name
 * is more than ASCII, `filename*` with the name itself in UTF-8 (RFC 8187), which browsers prefer. Quotes,
 * backslashes and control characters never reach the header.
 */
export const contentDisposition = (filename: string): string => {
  const fallback = asciiFilename(filename)
  const exact = filename.normalize("NFC")
  return exact === fallback
    ? `attachment; filename="${fallback}"`
    : `attachment; filename="${fallback}"; filename*=UTF-8''${encodeRfc8187(exact)}`
}

/** Accents dropped (é → e), every other run of characters outside [A-Za-z0-9._-] one "-"; never empty. */
export const asciiFilename = (filename: string): string => {
  const extension = /\.[A-Za-z0-9]{1,10}$/.exec(filename)?.[0] ?? ""
  const stem = filename.slice(0, filename.length - extension.length)
  const ascii = (part: string) =>
    part
      .normalize("NFKD")
      .replace(/\p{M}+/gu, "")
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/-{2,}/g, "-")
      .replace(/^[-.]+|-+$/g, "")
  const bare = ascii(stem)
  return `${bare.length === 0 ? "download" : bare}${extension}`
}

/** RFC 8187's attr-char set: what `encodeURIComponent` leaves alone, less `'()*`, which it must encode. */
const encodeRfc8187 = (value: string) =>
  encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/**
 * A name as a file name's part, in the name's own letters: lower case, each run of anything but letters and
 * digits one "-", at most `max` characters; `fallback` when nothing is left.
 */
export const slug = (name: string, fallback: string, max = 60): string => {
  const cut = [
    ...name
      .normalize("NFC")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, "-")
  ]
    .slice(0, max)
    .join("")
    .replace(/^-+|-+$/g, "")
  return cut.length === 0 ? fallback : cut
}
