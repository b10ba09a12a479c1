import { FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import { classifyDevice, Device, deviceName } from "../src/Taps/Device.js"

/** Device classification of the stored user agent, done once when the writer stores the tap. */

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)

const cases: ReadonlyArray<readonly [string, string | null | undefined, Device]> = [
  [
    "iPhone Safari",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
      "Version/17.5 Mobile/15E148 Safari/604.1",
    Device.Ios
  ],
  [
    "iPhone Chrome (CriOS)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
      "CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
    Device.Ios
  ],
  [
    "iPad in mobile mode",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 " +
      "Mobile/15E148 Safari/604.1",
    Device.Ios
  ],
  [
    "iPod touch",
    "Mozilla/5.0 (iPod touch; CPU iPhone OS 15_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
      "Version/15.7 Mobile/15E148 Safari/604.1",
    Device.Ios
  ],
  [
    "Instagram iOS webview",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
      "Mobile/15E148 Instagram 330.0.3.12.90 (iPhone14,2; iOS 17_4; en_US; en; scale=3.00; 1170x2532; 599582)",
    Device.Ios
  ],
  [
    "Facebook iOS webview",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
      "Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone13,2;FBMD/iPhone;FBSN/iOS;FBSV/16.1]",
    Device.Ios
  ],
  ["an iOS app's own client", "Tapline/2.1 (iOS 17.2; iPhone15,3)", Device.Ios],
  [
    "Android Chrome",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 " +
      "Mobile Safari/537.36",
    Device.Android
  ],
  [
    "Android Chrome, reduced UA",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile " +
      "Safari/537.36",
    Device.Android
  ],
  [
    "Samsung Internet",
    "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) " +
      "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
    Device.Android
  ],
  [
    "Android webview",
    "Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like " +
      "Gecko) Version/4.0 Chrome/120.0.6099.43 Mobile Safari/537.36",
    Device.Android
  ],
  [
    "Android Dalvik client",
    "Dalvik/2.1.0 (Linux; U; Android 11; moto g(30) Build/RRMS31.Q1-4-25)",
    Device.Android
  ],
  ["Firefox Android", "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0", Device.Android],
  // iPadOS Safari asks for the desktop site by default and then says exactly what a Mac says: other.
  [
    "iPadOS desktop mode (reads as a Mac)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 " +
      "Safari/605.1.15",
    Device.Other
  ],
  [
    "Windows Chrome",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 " +
      "Safari/537.36",
    Device.Other
  ],
  [
    "Windows Phone (claims Android and iPhone)",
    "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like " +
      "Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
    Device.Other
  ],
  ["curl", "curl/8.5.0", Device.Other],
  ["a BIOS string is not iOS", "PhoenixBIOS/4.0 radios", Device.Other],
  ["empty", "", Device.Other],
  ["null", null, Device.Other],
  ["undefined", undefined, Device.Other],
  ["garbage", "\u0000\uffff<script>alert(1)</script>", Device.Other]
]

describe("device classification", () => {
  it.each(cases)("%s", (_, userAgent, expected) => {
    expect(deviceName(classifyDevice(userAgent))).toBe(deviceName(expected))
  })

  it("a 1 MB user agent costs what its first kilobyte does, and its tail cannot change the answer", () => {
    const filler = "x".repeat(1024 * 1024)
    expect(classifyDevice(filler)).toBe(Device.Other)
    expect(classifyDevice(`${filler} iPhone Android`)).toBe(Device.Other)
    expect(classifyDevice(`Mozilla/5.0 (Linux; Android 14) ${filler}`)).toBe(Device.Android)
  })

  it("answers one of the three for any string (property, printed seed)", () => {
    console.log(`device classification property with FUZZ_SEED=${SEED}`)
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.fullUnicodeString(), fc.constant("")), (userAgent) => {
        expect([Device.Ios, Device.Android, Device.Other]).toContain(classifyDevice(userAgent))
      }),
      { seed: SEED, numRuns: 2_000 }
    )
  })

  it("names its codes as the API does", () => {
    expect([Device.Unknown, Device.Ios, Device.Android, Device.Other].map(deviceName)).toEqual([
      "unknown",
      "ios",
      "android",
      "other"
    ])
  })
})
