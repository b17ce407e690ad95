import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Per-project GitHub webhook secrets.
 *
 * GitHub signs each delivery with HMAC-SHA256 under the secret, so verifying needs the secret
 * itself: a one-way hash (as API tokens get) cannot check a signature. Two ways keep it out of the
 * database in clear: encrypt it (SecretBox), or derive it. We derive:
 *
 *   secret = "ashgh_" + base64url(HMAC-SHA256(K, "<project id>:<nonce>")),  K = HKDF(SECRET_KEY, "github webhook secrets")
 *
 * and store only the random nonce. The database alone (a dump, a replica, a backup) neither
 * reveals the secret nor lets anyone sign a delivery; it takes SECRET_KEY too, exactly as for the
 * encrypted Sentry tokens. Deriving has no ciphertext to leak or to mis-handle, binds the secret to
 * its project (a nonce copied onto another project's row derives a different secret), and rotating
 * is just a new nonce. The price, shared with encryption: changing SECRET_KEY invalidates every
 * GitHub webhook secret, and admins generate new ones (the settings page says how).
 */
export class GithubWebhookSecrets {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    this.key = Buffer.from(hkdfSync("sha256", secretKey, "aftershock", "github webhook secrets v1", 32));
  }

  newNonce(): string {
    return randomBytes(32).toString("base64url");
  }

  secretFor(projectId: string, nonce: string): string {
    return `ashgh_${createHmac("sha256", this.key).update(`${projectId}:${nonce}`, "utf8").digest("base64url")}`;
  }
}

/** `X-Hub-Signature-256: sha256=<hex>` over the exact body bytes, compared in constant time. */
export function verifyGithubSignature(secret: string, rawBody: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) return false;
  const expected = createHmac("sha256", secret).update(rawBody).digest();
  const given = Buffer.from(match[1]!, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** What GitHub sends, for tests and for documenting the scheme. */
export function signGithubPayload(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac("sha256", secret).update(rawBody).digest("hex")}`;
}
