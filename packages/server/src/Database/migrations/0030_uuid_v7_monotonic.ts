import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * uuid_generate_v7 fills the 12 bits after the version with the fraction of the millisecond (RFC 9562 §6.2,
 * method 3) instead of random bits. Ids made one after another (an audit entry, then the next) then sort in the
 * order they were made, down to the microsecond PostgreSQL's clock gives; before, two ids of the same
 * millisecond sorted either way, and an audit trail read "order by id" could show an update before its create.
 * Rows already written keep their ids.
 */
const schema = `
create or replace function uuid_generate_v7() returns uuid language sql volatile as $$
  with now as (select extract(epoch from clock_timestamp()) * 1000 as ms)
  select encode(
    overlay(
      overlay(uuid_send(gen_random_uuid())
        placing substring(int8send(floor(now.ms)::bigint) from 3) from 1 for 6)
      placing int2send((28672 | floor((now.ms - floor(now.ms)) * 4096)::int)::smallint) from 7 for 2),
    'hex')::uuid
  from now
$$;
`

export default Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(schema))
