import { expect } from "chai";
import { decodeCursor, encodeCursor } from "../../src/deploys/deploy-cursor.js";
import { parseIsoTime } from "../../src/deploys/deploy-request.js";
import { githubPayload, parseGithubDeploymentStatus } from "../../src/deploys/github-deploy-shape.js";
import { GithubWebhookSecrets, signGithubPayload, verifyGithubSignature } from "../../src/deploys/github-webhook-secret.js";
import { parseNativeDeploy } from "../../src/deploys/native-deploy-shape.js";
import { parseSentryDeploy } from "../../src/deploys/sentry-deploy-shape.js";
import { parseSleuthDeploy } from "../../src/deploys/sleuth-deploy-shape.js";
import { ValidationError } from "../../src/errors.js";

function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error("expected a ValidationError");
}

describe("deploy shapes (pure parsing)", () => {
  describe("ISO 8601 times", () => {
    it("when a time has Z, an offset, fractions or no zone, then it is read exactly (no zone = UTC)", () => {
      expect(parseIsoTime("2024-05-01T12:30:00Z")?.toISOString()).to.equal("2024-05-01T12:30:00.000Z");
      expect(parseIsoTime("2024-05-01T14:30:00.123456+02:00")?.toISOString()).to.equal("2024-05-01T12:30:00.123Z");
      expect(parseIsoTime("2024-05-01T07:30-0500")?.toISOString()).to.equal("2024-05-01T12:30:00.000Z");
      expect(parseIsoTime("2024-05-01 12:30:00")?.toISOString()).to.equal("2024-05-01T12:30:00.000Z");
    });

    it("when a time is not ISO 8601 or not a real date, then it is refused", () => {
      for (const bad of ["yesterday", "May 1 2024", "2024-05-01", "2024-02-30T00:00:00Z", "2024-05-01T25:00:00Z", "1714566600", "2024-05-01T12:30:00+25:00"]) {
        expect(parseIsoTime(bad), bad).to.equal(null);
      }
    });
  });

  describe("native", () => {
    it("when the body is complete, then every field is normalised", () => {
      const r = parseNativeDeploy({
        project: "checkout",
        environment: " production ",
        sha: "abc123",
        timestamp: "2024-05-01T12:30:00Z",
        author: "dev@example.com",
        url: "https://ci.example.com/runs/1",
        tags: ["hotfix", "hotfix", "canary"],
        links: { Build: "https://ci.example.com/1" },
        idempotencyKey: "run-1",
      });
      expect(r).to.deep.include({ project: "checkout", environment: "production", version: "abc123", source: "native", idempotencyKey: "run-1" });
      expect(r.tags).to.deep.equal(["hotfix", "canary"]);
      expect(r.timestamp?.toISOString()).to.equal("2024-05-01T12:30:00.000Z");
    });

    it("when fields are wrong, then every problem is named by its field", () => {
      const error = refusal(() =>
        parseNativeDeploy({ project: "checkout", environment: "production", version: "x".repeat(201), timestamp: "soon", url: "javascript:alert(1)", enviroment: "typo" }),
      );
      const fields = error.fieldProblems.map((p) => p.field);
      expect(fields).to.include.members(["version", "timestamp", "url", "enviroment"]);
      expect(error.fieldProblems.find((p) => p.field === "version")!.message).to.match(/at most 200/);
    });

    it("when version and sha are missing or disagree, or text holds NUL, then it is refused", () => {
      expect(refusal(() => parseNativeDeploy({ project: "p", environment: "e" })).fieldProblems[0]!.field).to.equal("version");
      refusal(() => parseNativeDeploy({ project: "p", environment: "e", version: "1", sha: "2" }));
      refusal(() => parseNativeDeploy({ project: "p", environment: "e", version: "1\u0000" }));
      refusal(() => parseNativeDeploy([]));
    });

    it("when the Idempotency-Key header is sent, then it is the key; a different body key is refused", () => {
      expect(parseNativeDeploy({ project: "p", environment: "e", version: "1" }, "hdr").idempotencyKey).to.equal("hdr");
      refusal(() => parseNativeDeploy({ project: "p", environment: "e", version: "1", idempotencyKey: "body" }, "hdr"));
    });
  });

  describe("Sleuth", () => {
    it("when tags and links come in Sleuth's spellings, then they are read", () => {
      const { request, ignoreIfDuplicate } = parseSleuthDeploy("checkout", {
        sha: "abc",
        tags: "#hotfix, #canary",
        links: "Build=https://ci/1?a=1,b, Docs=https://docs/x",
        ignore_if_duplicate: "true",
        email: "dev@example.com",
        branch: "main",
      });
      expect(request.tags).to.deep.equal(["hotfix", "canary"]);
      expect(request.links).to.deep.equal({ Build: "https://ci/1?a=1,b", Docs: "https://docs/x" });
      expect(request.environment).to.equal(null);
      expect(request.author).to.equal("dev@example.com");
      expect(ignoreIfDuplicate).to.equal(true);
      expect(parseSleuthDeploy("p", { sha: "a", tags: '["#a","b"]', links: '{"CI":"https://ci/2"}' }).request).to.deep.include({ tags: ["a", "b"], links: { CI: "https://ci/2" } });
      expect(parseSleuthDeploy("p", { sha: "a", links: { CI: "https://ci/3" } }).request.links).to.deep.equal({ CI: "https://ci/3" });
    });

    it("when sha is missing or the date is not ISO 8601, then it is refused", () => {
      expect(refusal(() => parseSleuthDeploy("p", { environment: "production" })).fieldProblems[0]!.field).to.equal("sha");
      expect(refusal(() => parseSleuthDeploy("p", { sha: "a", date: "yesterday" })).fieldProblems[0]!.field).to.equal("date");
    });
  });

  describe("GitHub", () => {
    const event = (state: string) => ({
      deployment_status: { state, environment: "Production", created_at: "2024-05-01T12:30:00Z", log_url: "https://github.com/o/r/actions/runs/1", creator: { login: "octocat" } },
      deployment: { id: 42, sha: "f".repeat(40), ref: "main", environment: "Production" },
      repository: { html_url: "https://github.com/o/r" },
    });

    it("when the state is success, then a deploy keyed by the deployment id comes out", () => {
      const delivery = parseGithubDeploymentStatus("checkout", event("success"));
      expect(delivery.kind).to.equal("deploy");
      if (delivery.kind !== "deploy") return;
      expect(delivery.request).to.deep.include({
        environment: "Production",
        environmentMatch: "ignore-case",
        version: "f".repeat(40),
        author: "octocat",
        idempotencyKey: "github:deployment:42",
        url: "https://github.com/o/r/actions/runs/1",
        source: "github",
      });
      expect(delivery.request.links.Commit).to.equal(`https://github.com/o/r/commit/${"f".repeat(40)}`);
    });

    it("when the state is not success, then it is ignored with a reason", () => {
      const delivery = parseGithubDeploymentStatus("checkout", event("in_progress"));
      expect(delivery).to.deep.equal({ kind: "ignored", reason: 'deployment_status state is "in_progress"; only "success" registers a deploy.' });
    });

    it("when the body is GitHub's form encoding, then the payload field is read", () => {
      expect(githubPayload({ payload: JSON.stringify({ zen: "hi" }) })).to.deep.equal({ zen: "hi" });
      refusal(() => githubPayload({ payload: "{nope" }));
    });

    it("when a secret is derived, then it is stable per project and nonce, and signatures verify in constant time", () => {
      const secrets = new GithubWebhookSecrets("k".repeat(40));
      const s1 = secrets.secretFor("p1", "n1");
      expect(s1).to.match(/^ashgh_[\w-]{43}$/);
      expect(secrets.secretFor("p1", "n1")).to.equal(s1);
      expect(secrets.secretFor("p2", "n1")).not.to.equal(s1);
      expect(new GithubWebhookSecrets("j".repeat(40)).secretFor("p1", "n1")).not.to.equal(s1);
      const body = Buffer.from('{"a":1}');
      expect(verifyGithubSignature(s1, body, signGithubPayload(s1, body))).to.equal(true);
      expect(verifyGithubSignature(s1, Buffer.from('{"a":2}'), signGithubPayload(s1, body))).to.equal(false);
      expect(verifyGithubSignature(s1, body, "sha256=abc")).to.equal(false);
      expect(verifyGithubSignature(s1, body, undefined)).to.equal(false);
    });
  });

  describe("Sentry", () => {
    it("when sentry-cli's body comes, then dateFinished is the deploy time and projects are kept", () => {
      const { projects, template } = parseSentryDeploy("app@1.2.3", {
        environment: "production",
        name: "Deploy 7",
        url: "https://ci/7",
        dateStarted: "2024-05-01T12:00:00Z",
        dateFinished: "2024-05-01T12:05:00Z",
        projects: ["checkout", "checkout", "web"],
      });
      expect(projects).to.deep.equal(["checkout", "web"]);
      expect(template).to.deep.include({ version: "app@1.2.3", environment: "production", name: "Deploy 7", source: "sentry" });
      expect(template.timestamp?.toISOString()).to.equal("2024-05-01T12:05:00.000Z");
      expect(template.startedAt?.toISOString()).to.equal("2024-05-01T12:00:00.000Z");
    });

    it("when environment is missing or too long, or dates are reversed, then it is refused", () => {
      refusal(() => parseSentryDeploy("1", {}));
      refusal(() => parseSentryDeploy("1", { environment: "e".repeat(65) }));
      refusal(() => parseSentryDeploy("1", { environment: "e", dateStarted: "2024-05-01T12:10:00Z", dateFinished: "2024-05-01T12:05:00Z" }));
    });
  });

  describe("cursor", () => {
    it("when a cursor is encoded, then it decodes to the same place; a tampered one is a 400", () => {
      const cursor = { timestamp: new Date("2024-05-01T12:30:00.123Z"), id: "0b5f1c7e-7c39-4a4e-9d55-1b2a3c4d5e6f" };
      expect(decodeCursor(encodeCursor(cursor))).to.deep.equal(cursor);
      for (const bad of ["", "!!", Buffer.from("[1,2]").toString("base64url"), Buffer.from('{"t":"x","i":"y"}').toString("base64url")]) {
        expect(() => decodeCursor(bad), bad).to.throw(ValidationError);
      }
    });
  });
});
