import "reflect-metadata";
import { closeTestDatabase } from "./support/test-database.js";

/** Mocha root hooks: the shared test database is closed once after the whole run. */
export const mochaHooks = {
  async afterAll() {
    await closeTestDatabase();
  },
};
