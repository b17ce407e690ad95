import { Column, Entity, PrimaryColumn } from "typeorm";

export type ConnectionState = "connected" | "needs_reconnect" | "error";

// Every column names its type: tsx drops decorator metadata (STACK.md).
@Entity({ name: "sentry_connections" })
export class SentryConnectionEntity {
  @PrimaryColumn({ name: "organization_id", type: "uuid" }) organizationId!: string;
  @Column({ type: "text" }) method!: "token" | "oauth";
  @Column({ name: "base_url", type: "text" }) baseUrl!: string;
  @Column({ name: "sentry_organization", type: "text", nullable: true }) sentryOrganization!: string | null;
  @Column({ name: "access_token_sealed", type: "text" }) accessTokenSealed!: string;
  @Column({ name: "refresh_token_sealed", type: "text", nullable: true }) refreshTokenSealed!: string | null;
  @Column({ name: "token_last_four", type: "text" }) tokenLastFour!: string;
  @Column({ name: "expires_at", type: "timestamptz", nullable: true }) expiresAt!: Date | null;
  @Column({ type: "text", array: true, default: () => "'{}'" }) scopes!: string[];
  @Column({ type: "text" }) status!: ConnectionState;
  @Column({ name: "last_error", type: "text", nullable: true }) lastError!: string | null;
  @Column({ name: "failing_since", type: "timestamptz", nullable: true }) failingSince!: Date | null;
  @Column({ name: "connected_by_email", type: "text", nullable: true }) connectedByEmail!: string | null;
  @Column({ name: "connected_at", type: "timestamptz", default: () => "now()" }) connectedAt!: Date;
  @Column({ name: "updated_at", type: "timestamptz", default: () => "now()" }) updatedAt!: Date;
}
