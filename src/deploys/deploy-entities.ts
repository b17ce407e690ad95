import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from "typeorm";

// Every column names its type: tsx (tests, dev) drops decorator metadata, see STACK.md.
// These entities stay inside src/deploys/: the service hands out plain records and deploy objects.

export const DEPLOY_SOURCES = ["native", "sleuth", "github", "sentry"] as const;
export type DeploySource = (typeof DEPLOY_SOURCES)[number];

@Entity({ name: "deploys" })
export class DeployEntity {
  @PrimaryGeneratedColumn("uuid") id!: string;
  @Column({ name: "organization_id", type: "uuid" }) organizationId!: string;
  @Column({ name: "project_id", type: "uuid" }) projectId!: string;
  @Column({ type: "text" }) environment!: string;
  @Column({ type: "text" }) version!: string;
  @Column({ name: "deployed_at", type: "timestamptz" }) deployedAt!: Date;
  @Column({ name: "started_at", type: "timestamptz", nullable: true }) startedAt!: Date | null;
  @Column({ type: "text", nullable: true }) author!: string | null;
  @Column({ type: "text", nullable: true }) name!: string | null;
  @Column({ type: "text", nullable: true }) url!: string | null;
  @Column({ type: "text", array: true, default: () => "'{}'" }) tags!: string[];
  @Column({ type: "jsonb", default: () => "'{}'::jsonb" }) links!: Record<string, string>;
  @Column({ type: "text" }) source!: DeploySource;
  @Column({ name: "idempotency_key", type: "text", nullable: true }) idempotencyKey!: string | null;
  @Column({ type: "boolean", default: false }) rollback!: boolean;
  @Column({ name: "rolled_back_by", type: "uuid", nullable: true }) rolledBackBy!: string | null;
  @Column({ name: "created_at", type: "timestamptz", default: () => "now()" }) createdAt!: Date;
}

@Entity({ name: "github_webhook_secrets" })
export class GithubWebhookSecretEntity {
  @PrimaryColumn({ name: "project_id", type: "uuid" }) projectId!: string;
  @Column({ name: "organization_id", type: "uuid" }) organizationId!: string;
  @Column({ type: "text" }) nonce!: string;
  @Column({ name: "last_four", type: "text" }) lastFour!: string;
  @Column({ name: "created_by_email", type: "text", nullable: true }) createdByEmail!: string | null;
  @Column({ name: "created_at", type: "timestamptz", default: () => "now()" }) createdAt!: Date;
}

export const deployEntities = [DeployEntity, GithubWebhookSecretEntity];
