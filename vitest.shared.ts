import { fileURLToPath } from "node:url"
import { defineProject } from "vitest/config"

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/** Tests run against the packages' TypeScript sources, never a stale dist/. */
export const project = (name: string) =>
  defineProject({
    resolve: {
      alias: [
        { find: /^@tapline\/domain$/, replacement: source("./packages/domain/src/index.ts") },
        { find: /^@tapline\/server\/(.*)$/, replacement: source("./packages/server/src/$1.ts") },
        { find: /^@tapline\/server$/, replacement: source("./packages/server/src/index.ts") }
      ]
    },
    test: {
      name,
      include: ["test/**/*.test.ts"],
      // Fails the run when it leaves keys without a TTL in the shared Redis (issue 26, 7c); then the run's
      // shared brokers (issue 32), after the run id is set.
      globalSetup: [
        source("./packages/testing/src/leftoverKeys.ts"),
        source("./packages/testing/src/sharedBrokers.ts")
      ],
      testTimeout: 30_000,
      hookTimeout: 60_000
    }
  })
