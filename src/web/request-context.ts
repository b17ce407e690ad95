import type { Request } from "express";
import type { Principal } from "../accounts/principal.js";
import { AuthenticationError } from "../errors.js";

declare module "express-serve-static-core" {
  interface Request {
    /** Set by the authentication middleware; the only source of "which organization". */
    principal?: Principal;
    id: string | number | object;
  }
}

declare module "express-session" {
  interface SessionData {
    userId?: string;
    organizationId?: string;
    flash?: FlashMessage[];
  }
}

export interface FlashMessage {
  type: "success" | "error" | "info";
  message: string;
}

export function principalOf(req: Request): Principal {
  if (!req.principal) throw new AuthenticationError();
  return req.principal;
}

export function flash(req: Request, type: FlashMessage["type"], message: string): void {
  if (!req.session) return;
  req.session.flash = [...(req.session.flash ?? []), { type, message }];
}

export function takeFlash(req: Request): FlashMessage[] {
  const messages = req.session?.flash ?? [];
  if (req.session && messages.length) delete req.session.flash;
  return messages;
}
