import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * Writes `content` readable by the owner only (0600), whatever the umask, replacing the file atomically so
 * that nobody ever reads half of it or a copy with wider permissions. The folder is made 0700 if new.
 */
export const writeOwnerOnly = (file: string, content: string) => {
  Fs.mkdirSync(Path.dirname(file), { recursive: true, mode: 0o700 })
  const temporary = `${file}.${process.pid}.tmp`
  Fs.rmSync(temporary, { force: true })
  Fs.writeFileSync(temporary, content, { mode: 0o600, flag: "wx" })
  Fs.chmodSync(temporary, 0o600)
  Fs.renameSync(temporary, file)
}
