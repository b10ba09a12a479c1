/**
 * The device a tap came from, told from its user agent once, when the writer stores the tap (`taps.device`).
 * Classifying in the rollup instead cost 17-39 s per rollup of 10 M taps (docs/decisions.md).
 *
 * Codes are what `taps.device` and `tap_rollups_device_minute.device` hold. `Unknown` is never a tap's: it
 * counts rolled-up taps with no classification (a row stored before migration 0016 whose raw row retention
 * removed before the backfill reached it, or one the backfill has not reached yet).
 */
export const Device = { Unknown: 0, Ios: 1, Android: 2, Other: 3 } as const
export type Device = (typeof Device)[keyof typeof Device]

export type DeviceName = "unknown" | "ios" | "android" | "other"

const names: ReadonlyArray<DeviceName> = ["unknown", "ios", "android", "other"]

export const deviceName = (device: Device): DeviceName => names[device]!

/**
 * Platform tokens sit in a user agent's first parenthesis; in-app browsers repeat them further on. Only this
 * prefix is read (the backfill reads no more of the column either): a 1 MB header costs what 1 KB does.
 */
export const DEVICE_PREFIX = 1024

// Windows Phone claimed Android and iPhone both, to get mobile pages.
const windowsPhone = /windows phone/
const android = /android/
/*
 * iPhone, iPad, iPod, an `iOS` word (app clients, in-app browsers) or WebKit's `like Mac OS X` (every iOS
 * browser). A Mac's Safari says `Intel Mac OS X`, never `like Mac OS X`; iPadOS Safari's default desktop
 * mode sends a Mac's exact user agent, so it counts as other (iPads read no NFC tags in any case).
 */
const ios = /iphone|ipad|ipod|\bios\b|like mac os x/

export const classifyDevice = (userAgent: string | null | undefined): Device => {
  if (userAgent === null || userAgent === undefined || userAgent.length === 0) return Device.Other
  const ua = userAgent.slice(0, DEVICE_PREFIX).toLowerCase()
  if (windowsPhone.test(ua)) return Device.Other
  if (android.test(ua)) return Device.Android
  if (ios.test(ua)) return Device.Ios
  return Device.Other
}
