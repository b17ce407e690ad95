import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from "typeorm";

// Every column names its type: tsx (tests, dev) drops decorator metadata, see STACK.md.

@Entity({ name: "organizations" })
export class OrganizationEntity {
  @PrimaryGeneratedColumn("uuid") id!: string;
  @Column({ type: "text" }) slug!: string;
  @Column({ type: "text" }) name!: string;
  @Column({ name: "created_at", type: "timestamptz", default: () => "now()" }) createdAt!: Date;
}

@Entity({ name: "users" })
export class UserEntity {
  @PrimaryGeneratedColumn("uuid") id!: string;
  @Column({ type: "text" }) email!: string;
  @Column({ type: "text", default: "" }) name!: string;
  @Column({ name: "password_hash", type: "text" }) passwordHash!: string;
  @Column({ name: "created_at", type: "timestamptz", default: () => "now()" }) createdAt!: Date;
}

@Entity({ name: "memberships" })
export class MembershipEntity {
  @PrimaryColumn({ name: "organization_id", type: "uuid" }) organizationId!: string;
  @PrimaryColumn({ name: "user_id", type: "uuid" }) userId!: string;
  @Column({ type: "text" }) role!: "admin" | "member";
  @Column({ name: "created_at", type: "timestamptz", default: () => "now()" }) createdAt!: Date;
}

@Entity({ name: "api_tokens" })
export class ApiTokenEntity {
  @PrimaryGeneratedColumn("uuid") id!: string;
  @Column({ name: "organization_id", type: "uuid" }) organizationId!: string;
  @Column({ type: "text" }) name!: string;
  @Column({ type: "text" }) role!: "admin" | "member";
  @Column({ name: "token_hash", type: "text" }) tokenHash!: string;
  @Column({ name: "last_four", type: "text" }) lastFour!: string;
  @Column({ name: "created_by", type: "uuid", nullable: true }) createdBy!: string | null;
  @Column({ name: "created_at", type: "timestamptz", default: () => "now()" }) createdAt!: Date;
  @Column({ name: "last_used_at", type: "timestamptz", nullable: true }) lastUsedAt!: Date | null;
  @Column({ name: "revoked_at", type: "timestamptz", nullable: true }) revokedAt!: Date | null;
}

export const accountEntities = [OrganizationEntity, UserEntity, MembershipEntity, ApiTokenEntity];
