// One project per package; each has its own vitest.config.ts built from vitest.shared.ts.
export default ["packages/*", "apps/api"]
