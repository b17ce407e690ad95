import { expect } from "chai";
import pg from "pg";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../src/db/embedded-postgres.js";

describe("embedded PostgreSQL under concurrent connections", () => {
  // One PGlite for both cases: a fresh one takes seconds to start.
  let embedded: EmbeddedPostgres;
  let pool: pg.Pool;
  before(async () => {
    embedded = await startEmbeddedPostgres({ dataDir: null, maxConnections: 20 });
    pool = new pg.Pool({ connectionString: embedded.url, max: 10 });
  });
  after(async () => {
    await pool?.end();
    await embedded?.stop();
  });

  it("when many connections send parameterised queries at once, then each gets its own answer", async () => {
    const p = pool;
    // Different parameter counts per query: an interleaved Bind would fail loudly or mix answers.
    const work = Array.from({ length: 60 }, (_, i) =>
      i % 2 === 0
        ? p.query("SELECT $1::int AS a", [i]).then((r) => r.rows[0].a)
        : p.query("SELECT $1::int + $2::int AS a", [i, 0]).then((r) => r.rows[0].a),
    );
    expect(await Promise.all(work)).to.deep.equal(Array.from({ length: 60 }, (_, i) => i));
  });

  it("when a transaction is open on one connection, then the others wait for it and still get their answers", async () => {
    await pool.query("CREATE TABLE t (n int)");
    const client = await pool.connect();
    await client.query("BEGIN");
    await client.query("INSERT INTO t VALUES ($1)", [1]);
    const outside = pool.query("SELECT count(*)::int AS c FROM t WHERE n >= $1", [0]);
    await client.query("INSERT INTO t VALUES ($1)", [2]);
    await client.query("COMMIT");
    client.release();
    expect((await outside).rows[0].c).to.equal(2);
  });
});
