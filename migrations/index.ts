import { CreateAccounts1763884800000 } from "./1763884800000-create-accounts.js";
import { CreateProjects1763884900000 } from "./1763884900000-create-projects.js";
import { CreateSentryConnections1763885100000 } from "./1763885100000-create-sentry-connections.js";
import { CreateImpact1763885200000 } from "./1763885200000-create-impact.js";
import { ImpactSourcesUniqueMapping1763885412000 } from "./1763885412000-impact-sources-unique-mapping.js";
import { CreateDeploys1763885500000 } from "./1763885500000-create-deploys.js";
import { CreateSocketIoAttachments1763886000000 } from "./1763886000000-create-socket-io-attachments.js";

/**
 * Every migration, oldest first. Listed by hand (not globbed) so the same list works under tsx in
 * development and from compiled JavaScript in production. Append only; never edit a landed one.
 */
export const allMigrations = [CreateAccounts1763884800000, CreateProjects1763884900000, CreateSentryConnections1763885100000, CreateImpact1763885200000, ImpactSourcesUniqueMapping1763885412000, CreateDeploys1763885500000, CreateSocketIoAttachments1763886000000];
