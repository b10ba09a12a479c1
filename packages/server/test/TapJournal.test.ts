import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { mountTinyDisk } from "@tapline/testing/tinyDisk"
import * as TapJournal from "../src/Taps/TapJournal.js"

/** The pid of a process that has exited: its journal files are abandoned. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!

const host = Os.hostname().replace(/[^A-Za-z0-9.]/g, "_")

describe("tap journal", () => {
  it("a dead process's file is claimed by exactly one live journal, which keeps it until replayed", () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-journal-"))
    try {
      const abandoned = Path.join(dir, `journal-${host}-${deadPid()}-${Date.now()}-1.ndjson`)
      Fs.writeFileSync(abandoned, '{"id":"a"}\n{"id":"b"}\n')
      // Two replayers over one folder (two processes of one host): before the claim, both used to list the
      // file, and the one that found it removed by the other died on ENOENT.
      const first = TapJournal.open(dir)
      const second = TapJournal.open(dir)
      const taken = first.replayable()
      expect(second.replayable()).toEqual([])
      expect(taken).toHaveLength(1)
      expect(Fs.existsSync(abandoned)).toBe(false)
      expect(Fs.readFileSync(taken[0]!.file, "utf8")).toBe('{"id":"a"}\n{"id":"b"}\n')
      // A replay that failed half-way is tried again on the next pass.
      expect(first.replayable().map((entry) => entry.file)).toEqual([taken[0]!.file])
      taken[0]!.done()
      expect(first.replayable()).toEqual([])
      expect(Fs.existsSync(taken[0]!.file)).toBe(false)
      first.close()
      second.close()
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("on a full disk a write is whole or not at all: no torn line, and the failed taps are not counted", (context) => {
    // A real small tmpfs: its last free page takes part of a write (a short write), then ENOSPC.
    const disk = mountTinyDisk(64 * 1024)
    if ("unavailable" in disk) {
      console.warn(`skipped: ${disk.unavailable}`)
      return context.skip()
    }
    try {
      const journal = TapJournal.open(disk.dir)
      // Lines of ~300 bytes, so one write straddles the last free page.
      const line = (n: number) => JSON.stringify({ id: `tap-${n}`, pad: "x".repeat(280) })
      let n = 0
      let accepted = 0
      const flushes: Array<boolean> = []
      for (let round = 0; round < 400 && flushes.at(-1) !== false; round++) {
        for (let i = 0; i < 7; i++) journal.enqueue(line(n++))
        const ok = journal.flush()
        flushes.push(ok)
        if (ok) accepted += 7
      }
      expect(flushes.at(-1)).toBe(false)
      const segment = journal.current()
      const lines = Fs.readFileSync(segment.file, "utf8").split("\n")
      // The file ends with a newline: nothing after it, every line before it whole.
      expect(lines.at(-1)).toBe("")
      const whole = lines.slice(0, -1)
      expect(whole.every((text) => JSON.parse(text).id.startsWith("tap-"))).toBe(true)
      expect(whole).toHaveLength(accepted)
      expect(segment.written).toBe(accepted)
      // Room again: the next write lands after the last whole line.
      disk.free()
      journal.enqueue(line(n++))
      expect(journal.flush()).toBe(true)
      const after = Fs.readFileSync(segment.file, "utf8").split("\n").slice(0, -1)
      expect(after).toHaveLength(accepted + 1)
      expect(JSON.parse(after.at(-1)!).id).toBe(`tap-${n - 1}`)
      journal.close()
    } finally {
      disk.dispose()
    }
  })
})
