import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

export interface TinyDisk {
  readonly dir: string
  /** Fills what is left with a filler file: from here on writes fail with ENOSPC (or write short). */
  readonly fill: () => void
  /** Removes the filler: the disk has room again. */
  readonly free: () => void
  readonly dispose: () => void
}

/**
 * A real, small filesystem (a tmpfs of `bytes`) mounted on a fresh folder, so a test sees what a full disk
 * really does to write(2): short writes, then ENOSPC. Mounting needs root (CI runs as root); elsewhere the
 * answer is the reason it could not, for the test to skip with.
 */
export const mountTinyDisk = (bytes: number): TinyDisk | { readonly unavailable: string } => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-tinydisk-"))
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir], { stdio: "pipe" })
  } catch (error) {
    Fs.rmSync(dir, { recursive: true, force: true })
    const detail = error instanceof Error ? error.message.split("\n")[0] : String(error)
    return { unavailable: `cannot mount a tmpfs (needs root): ${detail}` }
  }
  const filler = Path.join(dir, "filler")
  return {
    dir,
    fill: () => {
      const fd = Fs.openSync(filler, "a")
      const chunk = Buffer.alloc(4096, 120)
      try {
        for (;;) Fs.writeSync(fd, chunk)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error
      } finally {
        Fs.closeSync(fd)
      }
    },
    free: () => Fs.rmSync(filler, { force: true }),
    dispose: () => {
      try {
        execFileSync("umount", ["-l", dir], { stdio: "pipe" })
      } finally {
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}
