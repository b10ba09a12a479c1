// Every pipeline key carries the {taps} hash tag, so the append script may touch them all in Cluster mode.
export const STREAM_KEY = "{taps}:stream"
