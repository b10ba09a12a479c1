import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/*
 * The tap journal: every served tap is written here before its 302 is sent. A process
 * killed with SIGKILL loses nothing the kernel already holds (the page cache outlives the process), so the
 * next start replays what the last one had not yet put in the stream (DESIGN §4: no tap lost after kill -9
 * of API processes). It is also where taps wait while Redis is unreachable: nothing is copied to a spool,
 * the journal already holds them.
 *
 * Writes are batched per turn of the event loop: the hot path enqueues the line; once the turn's requests
 * are handled, one write(2) puts every enqueued line in the page cache and their 302s are written. One
 * system call per turn instead of one per tap, and still no 302 leaves before its tap is on disk.
 *
 * The journal is a sequence of segments (newline-delimited JSON files) named after their process. A segment
 * is removed once it is sealed and every tap in it has reached the stream. A segment whose taps could not be
 * appended is marked for replay: the replayer reads it back from disk and appends it whole. Replaying a tap
 * that had reached the stream after all is harmless: the store is idempotent on tap id.
 */

export interface Segment {
  readonly file: string
  fd: number | null
  readonly openedAt: number
  /** Taps written to this segment. */
  written: number
  /** Of those, taps that reached the stream from memory. */
  acked: number
  /** Some of its taps are only on disk: the replayer appends the whole file once it is sealed. */
  replay: boolean
  /** Bytes of whole lines in the file: where a failed write is cut back to. */
  bytes: number
  /** A failed write left part of a line that could not be cut off: the next write starts a new line. */
  torn: boolean
}

const OWNER = `${Os.hostname().replace(/[^A-Za-z0-9.]/g, "_")}-${process.pid}`
const PREFIX = `journal-${OWNER}-`
/** journal-<host>-<pid>-<opened ms>-<seq>.ndjson, and the spool files of earlier versions. */
const JOURNAL_NAME = /^journal-(.+)-(\d+)-\d+-\d+\.ndjson$/
const LEGACY_SPOOL_NAME = /^taps-(.+)-(\d+)\.ndjson(\.\d+\.replay)?$/

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Whether a file in the folder belongs to a process that is gone. Only processes of this host are judged
 * (by pid): a journal folder is shared only by the processes of one host, never across hosts.
 */
const abandoned = (name: string): boolean => {
  const match = JOURNAL_NAME.exec(name) ?? LEGACY_SPOOL_NAME.exec(name)
  if (match === null) return false
  const host = match[1]!
  const pid = Number(match[2])
  const thisHost = Os.hostname().replace(/[^A-Za-z0-9.]/g, "_")
  if (host !== thisHost && host !== Os.hostname()) return false
  return pid !== process.pid && !isAlive(pid)
}

export interface TapJournal {
  /** Adds one line to the next write; the segment it goes to. */
  readonly enqueue: (line: string) => Segment
  /** Writes every enqueued line (one write per segment); false when the disk refused them. */
  readonly flush: () => boolean
  readonly current: () => Segment
  /** Seals the current segment (when it holds anything) and opens the next. */
  readonly rotate: () => void
  readonly acked: (segment: Segment, count: number) => void
  readonly markForReplay: (segment: Segment) => void
  /**
   * Sealed segments of this process marked for replay, and files left by processes that are gone. A file
   * of a dead process is first claimed (renamed into this process's name, atomically): of several live
   * processes, exactly one replays it, and if that one dies too, the file is abandoned again.
   */
  readonly replayable: () => ReadonlyArray<{ readonly file: string; readonly done: () => void }>
  /** Seals the current segment; removes every segment whose taps all reached the stream. */
  readonly close: () => void
  /** Whether the disk takes a write again: one blank line (the replay skips it), after a failed write. */
  readonly probe: () => boolean
  readonly stats: () => { readonly segments: number; readonly failures: number }
  readonly lastError: () => string | null
}

export const open = (dir: string): TapJournal => {
  Fs.mkdirSync(dir, { recursive: true })
  const live = new Set<Segment>()
  /** Files of dead processes this process took over and has not finished replaying. */
  const claimed = new Set<string>()
  let seq = 0
  let failures = 0
  let lastError: string | null = null

  const openSegment = (): Segment => {
    const openedAt = Date.now()
    const file = Path.join(dir, `${PREFIX}${openedAt}-${++seq}.ndjson`)
    const segment: Segment = {
      file,
      fd: Fs.openSync(file, "a"),
      openedAt,
      written: 0,
      acked: 0,
      replay: false,
      bytes: 0,
      torn: false
    }
    live.add(segment)
    return segment
  }

  const seal = (segment: Segment) => {
    if (segment.fd !== null) {
      Fs.closeSync(segment.fd)
      segment.fd = null
    }
    settle(segment)
  }

  /** A sealed segment whose every tap reached the stream from memory is no longer needed. */
  const settle = (segment: Segment) => {
    if (segment.fd !== null || segment.replay || segment.acked < segment.written) return
    Fs.rmSync(segment.file, { force: true })
    live.delete(segment)
  }

  let current = openSegment()
  let pending: Array<string> = []
  // Once closed, nothing opens a new segment (the recorder's fibers may outlive the close by a moment).
  let closed = false

  /*
   * A write is whole or not at all. write(2) may write part of what it was given (a nearly full disk takes
   * what fits, then says ENOSPC): it is called again for the rest, and when it fails part-way the file is cut
   * back to its last whole line, so the replay never meets half a tap glued to the next one, and every tap
   * of the failed write is known not to be on disk (the recorder keeps them in memory).
   */
  const flush = (): boolean => {
    if (pending.length === 0) return true
    const lines = pending
    pending = []
    const segment = current
    const data = Buffer.from(`${segment.torn ? "\n" : ""}${lines.join("\n")}\n`)
    let offset = 0
    try {
      if (segment.fd === null) throw new Error("the journal segment is closed")
      while (offset < data.length) offset += Fs.writeSync(segment.fd, data, offset)
      // After a part line that could not be cut off, the file is longer than its whole lines: ask it.
      segment.bytes = segment.torn ? Fs.fstatSync(segment.fd).size : segment.bytes + data.length
      segment.torn = false
      return true
    } catch (error) {
      if (offset > 0) cutBack(segment)
      segment.written -= lines.length
      failures++
      lastError = error instanceof Error ? error.message : String(error)
      return false
    }
  }

  const cutBack = (segment: Segment) => {
    try {
      if (segment.fd !== null) Fs.ftruncateSync(segment.fd, segment.bytes)
    } catch {
      // Left as it is: the partial line stays a line of its own, which the replay skips (its taps are in
      // memory, not lost).
      segment.torn = true
    }
  }

  return {
    enqueue: (line) => {
      pending.push(line)
      current.written++
      return current
    },
    flush,
    current: () => current,
    rotate: () => {
      flush()
      if (closed || current.written === 0) return
      const sealed = current
      try {
        current = openSegment()
      } catch (error) {
        failures++
        lastError = error instanceof Error ? error.message : String(error)
        return
      }
      seal(sealed)
    },
    acked: (segment, count) => {
      segment.acked += count
      settle(segment)
    },
    markForReplay: (segment) => {
      segment.replay = true
    },
    replayable: () => {
      const files: Array<{ file: string; done: () => void }> = []
      for (const segment of live) {
        if (segment.fd === null && segment.replay) {
          files.push({
            file: segment.file,
            done: () => {
              Fs.rmSync(segment.file, { force: true })
              live.delete(segment)
            }
          })
        }
      }
      for (const name of Fs.readdirSync(dir)) {
        if (!abandoned(name)) continue
        const mine = Path.join(dir, `${PREFIX}${Date.now()}-${++seq}.ndjson`)
        try {
          Fs.renameSync(Path.join(dir, name), mine)
          claimed.add(mine)
        } catch {
          // Another live process claimed it first (ENOENT): it replays the file.
        }
      }
      for (const file of claimed) {
        files.push({
          file,
          done: () => {
            Fs.rmSync(file, { force: true })
            claimed.delete(file)
          }
        })
      }
      return files
    },
    close: () => {
      flush()
      closed = true
      seal(current)
      for (const segment of [...live]) settle(segment)
    },
    probe: () => {
      const segment = current
      try {
        if (segment.fd === null) return false
        // One byte: written whole or not at all.
        Fs.writeSync(segment.fd, "\n")
        segment.bytes = segment.torn ? Fs.fstatSync(segment.fd).size : segment.bytes + 1
        segment.torn = false
        return true
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error)
        return false
      }
    },
    stats: () => ({ segments: live.size + claimed.size, failures }),
    lastError: () => lastError
  }
}
