import type { DataSource, EntityManager } from "typeorm";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors.js";
import { hashToken, randomToken } from "../secret-box.js";
import { slugify } from "../slug.js";
import { ApiTokenEntity, MembershipEntity, OrganizationEntity, UserEntity } from "./account-entities.js";
import { hashPassword, PASSWORD_MIN_LENGTH, verifyPassword } from "./password.js";
import type { Principal, Role } from "./principal.js";

export interface OrganizationView {
  id: string;
  slug: string;
  name: string;
}

export interface ApiTokenView {
  id: string;
  name: string;
  role: Role;
  lastFour: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface MemberView {
  userId: string;
  email: string;
  name: string;
  role: Role;
  createdAt: Date;
}

export interface InitSettings {
  orgName: string;
  adminEmail: string;
  adminPassword: string;
  apiToken: string | null;
}

const API_TOKEN_PREFIX = "ash_";
/** Writing last_used_at on every request would turn reads into writes; once a minute is plenty. */
const LAST_USED_RESOLUTION_MS = 60_000;

function view(org: OrganizationEntity): OrganizationView {
  return { id: org.id, slug: org.slug, name: org.name };
}

function tokenView(t: ApiTokenEntity): ApiTokenView {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    lastFour: t.lastFour,
    createdAt: t.createdAt,
    lastUsedAt: t.lastUsedAt,
    revokedAt: t.revokedAt,
  };
}

function validateOrgName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 100) {
    throw new ValidationError("Organization name must be 1 to 100 characters.", [
      { field: "orgName", message: "Enter 1 to 100 characters." },
    ]);
  }
  if (!slugify(trimmed)) {
    throw new ValidationError("Organization name needs at least one letter or digit.", [
      { field: "orgName", message: "Use at least one letter or digit." },
    ]);
  }
  return trimmed;
}

function validateEmail(email: string): string {
  const normalized = email.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(normalized) || normalized.length > 254) {
    throw new ValidationError("Enter a valid email address.", [{ field: "email", message: "Enter a valid email address." }]);
  }
  return normalized;
}

function validatePassword(password: string): void {
  if (password.length < PASSWORD_MIN_LENGTH || password.length > 1024) {
    throw new ValidationError(`Password must be at least ${PASSWORD_MIN_LENGTH} characters.`, [
      { field: "password", message: `Use at least ${PASSWORD_MIN_LENGTH} characters.` },
    ]);
  }
}

export class AccountsService {
  constructor(private readonly dataSource: DataSource) {}

  async hasAnyOrganization(): Promise<boolean> {
    return (await this.dataSource.getRepository(OrganizationEntity).count()) > 0;
  }

  async getOrganization(organizationId: string): Promise<OrganizationView> {
    const org = await this.dataSource.getRepository(OrganizationEntity).findOneBy({ id: organizationId });
    if (!org) throw new NotFoundError("Organization not found.");
    return view(org);
  }

  async findOrganizationBySlug(slug: string): Promise<OrganizationView | null> {
    const org = await this.dataSource.getRepository(OrganizationEntity).findOneBy({ slug });
    return org ? view(org) : null;
  }

  /** First-run page and bootstrap: a new organization and its first admin, in one transaction. */
  async createOrganizationWithAdmin(input: {
    orgName: string;
    email: string;
    password: string;
    name?: string;
  }): Promise<{ organization: OrganizationView; userId: string }> {
    const orgName = validateOrgName(input.orgName);
    const email = validateEmail(input.email);
    validatePassword(input.password);
    const passwordHash = await hashPassword(input.password);
    return this.dataSource.transaction(async (tx) => {
      const org = await this.insertOrganization(tx, orgName);
      let user = await tx.getRepository(UserEntity).findOneBy({ email });
      if (!user) {
        user = await tx.getRepository(UserEntity).save({ email, name: input.name?.trim() ?? "", passwordHash });
      }
      await tx.getRepository(MembershipEntity).insert({ organizationId: org.id, userId: user.id, role: "admin" });
      return { organization: view(org), userId: user.id };
    });
  }

  /**
   * INIT_* bootstrap, safe to run at every start: creates the organization, its admin and the admin
   * API token only where absent, so restarts (and several instances starting together) change nothing.
   */
  async bootstrap(init: InitSettings): Promise<{ created: boolean }> {
    const orgName = validateOrgName(init.orgName);
    const email = validateEmail(init.adminEmail);
    validatePassword(init.adminPassword);
    const slug = slugify(orgName);
    const passwordHash = await hashPassword(init.adminPassword);
    return this.dataSource.transaction(async (tx) => {
      // ON CONFLICT DO NOTHING: two instances starting together both succeed and create one organization.
      const inserted = await tx
        .createQueryBuilder()
        .insert()
        .into(OrganizationEntity)
        .values({ slug, name: orgName })
        .orIgnore()
        .returning(["id"])
        .execute();
      const created = inserted.raw.length > 0;
      const org = await tx.getRepository(OrganizationEntity).findOneByOrFail({ slug });
      if (created) {
        await tx.createQueryBuilder().insert().into(UserEntity).values({ email, name: "", passwordHash }).orIgnore().execute();
        const user = await tx.getRepository(UserEntity).findOneByOrFail({ email });
        await tx
          .createQueryBuilder()
          .insert()
          .into(MembershipEntity)
          .values({ organizationId: org.id, userId: user.id, role: "admin" })
          .orIgnore()
          .execute();
      }
      if (init.apiToken) {
        await tx
          .createQueryBuilder()
          .insert()
          .into(ApiTokenEntity)
          .values({
            organizationId: org.id,
            name: "Bootstrap token (INIT_API_TOKEN)",
            role: "admin",
            tokenHash: hashToken(init.apiToken),
            lastFour: init.apiToken.slice(-4),
          })
          .orIgnore()
          .execute();
      }
      return { created };
    });
  }

  private async insertOrganization(tx: EntityManager, name: string): Promise<OrganizationEntity> {
    const base = slugify(name);
    // Two organizations may share a name; the slug gets a numeric suffix rather than refusing.
    for (let attempt = 0; attempt < 50; attempt++) {
      const slug = attempt === 0 ? base : `${base}-${attempt + 1}`;
      const result = await tx
        .createQueryBuilder()
        .insert()
        .into(OrganizationEntity)
        .values({ slug, name })
        .orIgnore()
        .returning(["id", "slug", "name", "createdAt"])
        .execute();
      const row = result.raw[0] as { id: string; slug: string; name: string } | undefined;
      if (row) return Object.assign(new OrganizationEntity(), row);
    }
    throw new ConflictError(`Too many organizations are named "${name}".`);
  }

  /** Returns the user's memberships when the password matches, else null (never says which part was wrong). */
  async verifyLogin(emailInput: string, password: string): Promise<{ userId: string; organizationIds: string[] } | null> {
    const email = emailInput.trim().toLowerCase();
    const user = await this.dataSource.getRepository(UserEntity).findOneBy({ email });
    if (!user) {
      // Spend the same time as a real check so response times do not reveal which emails exist.
      await hashPassword(password);
      return null;
    }
    if (!(await verifyPassword(password, user.passwordHash))) return null;
    const memberships = await this.dataSource.getRepository(MembershipEntity).find({
      where: { userId: user.id },
      order: { createdAt: "ASC" },
    });
    return { userId: user.id, organizationIds: memberships.map((m) => m.organizationId) };
  }

  async principalForUser(userId: string, organizationId: string): Promise<Principal | null> {
    const rows: Array<{ role: Role; email: string; slug: string; name: string }> = await this.dataSource.query(
      `SELECT m.role, u.email, o.slug, o.name
         FROM memberships m JOIN users u ON u.id = m.user_id JOIN organizations o ON o.id = m.organization_id
        WHERE m.user_id = $1 AND m.organization_id = $2`,
      [userId, organizationId],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      organizationId,
      organizationSlug: row.slug,
      organizationName: row.name,
      role: row.role,
      userId,
      userEmail: row.email,
      apiTokenId: null,
    };
  }

  async principalForApiToken(token: string): Promise<Principal | null> {
    if (!token || token.length > 512) return null;
    const rows: Array<{ id: string; role: Role; organization_id: string; slug: string; name: string; last_used_at: Date | null }> =
      await this.dataSource.query(
        `SELECT t.id, t.role, t.organization_id, t.last_used_at, o.slug, o.name
           FROM api_tokens t JOIN organizations o ON o.id = t.organization_id
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL`,
        [hashToken(token)],
      );
    const row = rows[0];
    if (!row) return null;
    if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
      await this.dataSource.query(`UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, [row.id]);
    }
    return {
      organizationId: row.organization_id,
      organizationSlug: row.slug,
      organizationName: row.name,
      role: row.role,
      userId: null,
      userEmail: null,
      apiTokenId: row.id,
    };
  }

  /** The plaintext token is returned once, here; only its hash is stored. */
  async createApiToken(principal: Principal, input: { name: string; role: Role }): Promise<{ token: string; record: ApiTokenView }> {
    requireAdmin(principal);
    const name = input.name.trim();
    if (!name || name.length > 100) {
      throw new ValidationError("Token name must be 1 to 100 characters.", [{ field: "name", message: "Enter 1 to 100 characters." }]);
    }
    if (input.role !== "admin" && input.role !== "member") {
      throw new ValidationError("Role must be admin or member.", [{ field: "role", message: "Choose admin or member." }]);
    }
    const token = randomToken(API_TOKEN_PREFIX);
    const record = await this.dataSource.getRepository(ApiTokenEntity).save({
      organizationId: principal.organizationId,
      name,
      role: input.role,
      tokenHash: hashToken(token),
      lastFour: token.slice(-4),
      createdBy: principal.userId,
    });
    return { token, record: tokenView(record) };
  }

  async listApiTokens(principal: Principal): Promise<ApiTokenView[]> {
    requireAdmin(principal);
    const rows = await this.dataSource.getRepository(ApiTokenEntity).find({
      where: { organizationId: principal.organizationId },
      order: { createdAt: "DESC" },
    });
    return rows.map(tokenView);
  }

  async revokeApiToken(principal: Principal, tokenId: string): Promise<void> {
    requireAdmin(principal);
    const result = await this.dataSource
      .createQueryBuilder()
      .update(ApiTokenEntity)
      .set({ revokedAt: () => "now()" })
      .where("id = :id AND organization_id = :org AND revoked_at IS NULL", { id: tokenId, org: principal.organizationId })
      .execute();
    if (!result.affected) throw new NotFoundError("No active API token with that id in your organization.");
  }

  async listMembers(principal: Principal): Promise<MemberView[]> {
    const rows: Array<{ user_id: string; email: string; name: string; role: Role; created_at: Date }> = await this.dataSource.query(
      `SELECT m.user_id, u.email, u.name, m.role, m.created_at
         FROM memberships m JOIN users u ON u.id = m.user_id
        WHERE m.organization_id = $1 ORDER BY u.email`,
      [principal.organizationId],
    );
    return rows.map((r) => ({ userId: r.user_id, email: r.email, name: r.name, role: r.role, createdAt: r.created_at }));
  }

  /** Adds a person by email; a new account gets the given initial password. */
  async addMember(principal: Principal, input: { email: string; password: string; role: Role }): Promise<MemberView> {
    requireAdmin(principal);
    const email = validateEmail(input.email);
    if (input.role !== "admin" && input.role !== "member") {
      throw new ValidationError("Role must be admin or member.", [{ field: "role", message: "Choose admin or member." }]);
    }
    return this.dataSource.transaction(async (tx) => {
      let user = await tx.getRepository(UserEntity).findOneBy({ email });
      if (!user) {
        validatePassword(input.password);
        user = await tx.getRepository(UserEntity).save({ email, name: "", passwordHash: await hashPassword(input.password) });
      }
      const existing = await tx.getRepository(MembershipEntity).findOneBy({ organizationId: principal.organizationId, userId: user.id });
      if (existing) throw new ConflictError(`${email} is already a member.`, [{ field: "email", message: "Already a member." }]);
      const membership = await tx.getRepository(MembershipEntity).save({
        organizationId: principal.organizationId,
        userId: user.id,
        role: input.role,
      });
      return { userId: user.id, email, name: user.name, role: membership.role, createdAt: membership.createdAt };
    });
  }

  async removeMember(principal: Principal, userId: string): Promise<void> {
    requireAdmin(principal);
    await this.dataSource.transaction(async (tx) => {
      const target = await tx.getRepository(MembershipEntity).findOneBy({ organizationId: principal.organizationId, userId });
      if (!target) throw new NotFoundError("That person is not a member of your organization.");
      if (target.role === "admin") {
        const admins = await tx.getRepository(MembershipEntity).countBy({ organizationId: principal.organizationId, role: "admin" });
        if (admins <= 1) throw new ConflictError("An organization needs at least one admin; make someone else admin first.");
      }
      await tx.getRepository(MembershipEntity).delete({ organizationId: principal.organizationId, userId });
    });
  }
}

export function requireAdmin(principal: Principal): void {
  if (principal.role !== "admin") throw new ForbiddenError("Only admins of your organization can do this.");
}
