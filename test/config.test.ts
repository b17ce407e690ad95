import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError, loadConfig, resolveSecretKey } from "../src/config.js";

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("when nothing is set, then the documented defaults apply", () => {
    const config = loadConfig({});
    expect(config.port).to.equal(3000);
    expect(config.databaseUrl).to.equal(null);
    expect(config.dataDir).to.equal(path.resolve("./data"));
    expect(config.sentryUrl).to.equal("https://sentry.io");
    expect(config.publicUrl).to.equal("http://localhost:3000");
    expect(config.pollCron).to.equal("* * * * *");
    expect(config.sentryOAuth).to.equal(null);
    expect(config.trustProxy).to.equal(false);
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it("when values are bad, then each bad variable gets one line naming it", () => {
    const problems = problemsOf({ PORT: "eighty", SENTRY_URL: "ftp://x", POLL_CRON: "every minute", LOG_LEVEL: "loud" });
    expect(problems).to.have.length(4);
    expect(problems.find((p) => p.startsWith("PORT:"))).to.match(/port number/);
    expect(problems.find((p) => p.startsWith("SENTRY_URL:"))).to.match(/http/);
    expect(problems.find((p) => p.startsWith("POLL_CRON:"))).to.match(/cron/);
    expect(problems.find((p) => p.startsWith("LOG_LEVEL:"))).to.match(/one of/);
  });

  it("when DATABASE_URL is set without SECRET_KEY, then SECRET_KEY is required", () => {
    const problems = problemsOf({ DATABASE_URL: "postgres://u@localhost/db" });
    expect(problems).to.deep.equal(["SECRET_KEY: is required when DATABASE_URL is set (every instance must share it)"]);
  });

  it("when only one OAuth variable is set, then its pair is asked for", () => {
    expect(problemsOf({ SENTRY_OAUTH_CLIENT_ID: "abc" })[0]).to.match(/^SENTRY_OAUTH_CLIENT_SECRET:/);
  });

  it("when INIT variables are incomplete, then the missing ones are named", () => {
    const problems = problemsOf({ INIT_ORG_NAME: "Acme" });
    expect(problems.map((p) => p.split(":")[0]).sort()).to.deep.equal(["INIT_ADMIN_EMAIL", "INIT_ADMIN_PASSWORD"]);
  });

  it("when a secret comes from a *_FILE path, then its content is used", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ash-config-"));
    const file = path.join(dir, "key");
    writeFileSync(file, "k".repeat(40) + "\n");
    expect(loadConfig({ SECRET_KEY_FILE: file }).secretKey).to.equal("k".repeat(40));
    expect(problemsOf({ SECRET_KEY_FILE: path.join(dir, "missing") })[0]).to.match(/^SECRET_KEY_FILE: cannot read/);
    expect(problemsOf({ SECRET_KEY_FILE: file, SECRET_KEY: "x".repeat(40) })[0]).to.match(/only one/);
  });

  it("when embedded mode has no SECRET_KEY, then one is generated into DATA_DIR and reused", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ash-key-"));
    const config = loadConfig({ DATA_DIR: dir });
    const first = await resolveSecretKey(config);
    expect(first.length).to.be.greaterThanOrEqual(32);
    expect(await resolveSecretKey(config)).to.equal(first);
  });
});
