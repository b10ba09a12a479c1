/** The PostgreSQL server tests may create databases on; `pnpm test:all` and `.ci/run` export it. */
export const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
/** The Redis tests may write keys to, each under a prefix of its own. */
export const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"
/** Embedded in database names and key prefixes, so runs never collide. */
export const runId = process.env.TAPLINE_TEST_RUN ?? `${process.pid}`
