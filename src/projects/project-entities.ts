import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

// Every column names its type: tsx (tests, dev) drops decorator metadata, see STACK.md.
// These entities stay inside src/projects/: the service hands out plain views.

@Entity({ name: "projects" })
export class ProjectEntity {
  @PrimaryGeneratedColumn("uuid") id!: string;
  @Column({ name: "organization_id", type: "uuid" }) organizationId!: string;
  @Column({ type: "text" }) slug!: string;
  @Column({ type: "text" }) name!: string;
  /** Ordered: the first is the default environment. */
  @Column({ type: "text", array: true, default: () => "'{}'" }) environments!: string[];
  @Column({ name: "archived_at", type: "timestamptz", nullable: true }) archivedAt!: Date | null;
  @Column({ name: "created_at", type: "timestamptz", default: () => "now()" }) createdAt!: Date;
}

@Entity({ name: "impact_sources" })
export class ImpactSourceEntity {
  @PrimaryGeneratedColumn("uuid") id!: string;
  @Column({ name: "organization_id", type: "uuid" }) organizationId!: string;
  @Column({ name: "project_id", type: "uuid" }) projectId!: string;
  @Column({ type: "text" }) name!: string;
  @Column({ name: "sentry_project_id", type: "text", nullable: true }) sentryProjectId!: string | null;
  @Column({ name: "sentry_project_slug", type: "text", nullable: true }) sentryProjectSlug!: string | null;
  @Column({ name: "sentry_environment", type: "text" }) sentryEnvironment!: string;
  /** Null: every environment of the project. */
  @Column({ type: "text", array: true, nullable: true }) environments!: string[] | null;
  @Column({ type: "text", default: "medium" }) sensitivity!: "low" | "medium" | "high";
  @Column({ type: "boolean", default: true }) enabled!: boolean;
  @Column({ name: "created_at", type: "timestamptz", default: () => "now()" }) createdAt!: Date;
  @Column({ name: "updated_at", type: "timestamptz", default: () => "now()" }) updatedAt!: Date;
}

export const projectEntities = [ProjectEntity, ImpactSourceEntity];
