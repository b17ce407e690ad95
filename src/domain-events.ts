import { EventEmitter } from "node:events";

/**
 * In-process domain events. `deploys/` and `impact/` emit them and never import `live/`; `live/`
 * listens and pushes to browsers. main.ts creates the one emitter and hands it to each side, so
 * registering a deploy never waits on a socket or on Sentry.
 */
export interface DomainEventMap {
  /** A deploy was registered (not emitted for an idempotent repeat). */
  "deploy.created": { organizationId: string; projectId: string; projectSlug: string; deployId: string };
  /** A deploy's impact changed (health, numbers, or final). */
  "deploy.impact": { organizationId: string; projectId: string; projectSlug: string; deployId: string };
  /** The organization's Sentry connection changed state. */
  "integration.status": { organizationId: string };
}

export type DomainEventName = keyof DomainEventMap;

export class DomainEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Many sockets and services may listen; the default of 10 is a leak warning, not a limit we want.
    this.emitter.setMaxListeners(0);
  }

  emit<K extends DomainEventName>(name: K, payload: DomainEventMap[K]): void {
    this.emitter.emit(name, payload);
  }

  on<K extends DomainEventName>(name: K, listener: (payload: DomainEventMap[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }
}
