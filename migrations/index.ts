import { CreateAccounts1763884800000 } from "./1763884800000-create-accounts.js";
import { CreateProjects1763884900000 } from "./1763884900000-create-projects.js";

/**
 * Every migration, oldest first. Listed by hand (not globbed) so the same list works under tsx in
 * development and from compiled JavaScript in production. Append only; never edit a landed one.
 */
export const allMigrations = [CreateAccounts1763884800000, CreateProjects1763884900000];
