import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
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
})
