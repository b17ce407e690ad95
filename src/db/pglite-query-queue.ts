import type { PGlite } from "@electric-sql/pglite";
import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/**
 * Fixes concurrent queries on the embedded database (pglite-socket 0.2.17).
 *
 * The socket server queues PostgreSQL protocol *messages* from all connections into PGlite's one
 * backend. A parameterised query is several messages (Parse, Bind, Describe, Execute, Sync), and
 * the queue keeps a connection's messages together only inside a transaction. Outside one, two
 * connections' queries interleave — Parse(A), Parse(B), Bind(A) — and A's Bind hits B's unnamed
 * statement: "bind message supplies 2 parameters, but prepared statement requires 1", or worse, A
 * silently gets B's rows (an API token "not found", a project "unknown"). Concurrent requests made
 * that happen at once (20 CI retries of one deploy did).
 *
 * The fix keeps the queue and its transaction rule and adds one more: once a connection has sent a
 * message that opens an extended-query cycle, only that connection's messages run until its Sync
 * (or a simple Query), exactly as a real server's per-connection backends behave. It replaces the
 * queue's `processQueue` on the instance (same algorithm, plus that rule; and an execution error
 * no longer leaves the queue stuck in "processing" forever). Checked at start so a pglite-socket
 * upgrade that changes these internals fails loudly instead of silently losing the fix.
 */
interface QueueItem {
  handlerId: number;
  message: Uint8Array;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
  onData: (data: Uint8Array) => void;
}

interface QueueInternals {
  queue: QueueItem[];
  processing: boolean;
  lastHandlerId: number | null;
  db: PGlite;
  processQueue: () => Promise<void>;
  clearQueueForHandler: (handlerId: number) => void;
}

/** Frontend messages after which the same connection's Sync (or more of the cycle) must follow. */
const OPENS_EXTENDED_CYCLE = new Set([
  0x50, // P Parse
  0x42, // B Bind
  0x44, // D Describe
  0x45, // E Execute
  0x43, // C Close (statement/portal)
  0x48, // H Flush
]);

export function keepExtendedQueriesTogether(server: PGLiteSocketServer): void {
  const q = (server as unknown as { queryQueue?: QueueInternals }).queryQueue;
  if (!q || !Array.isArray(q.queue) || typeof q.processQueue !== "function" || typeof q.clearQueueForHandler !== "function" || !q.db) {
    throw new Error("pglite-socket's query queue changed shape; review src/db/pglite-query-queue.ts before upgrading");
  }
  /** The connection in the middle of an extended-query cycle, if any. */
  let cycleOwner: number | null = null;

  q.processQueue = async () => {
    if (q.processing || q.queue.length === 0) return;
    q.processing = true;
    try {
      while (q.queue.length > 0) {
        const exclusive = cycleOwner ?? (q.db.isInTransaction() ? q.lastHandlerId : null);
        const index = exclusive === null ? 0 : q.queue.findIndex((item) => item.handlerId === exclusive);
        // The owner's next message has not arrived yet: wait for it (its enqueue restarts us).
        if (index === -1) break;
        const [item] = q.queue.splice(index, 1);
        if (!item) break;
        let bytes = 0;
        try {
          await q.db.runExclusive(() =>
            q.db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (error) {
          if (cycleOwner === item.handlerId) cycleOwner = null;
          item.reject(error);
          continue;
        }
        q.lastHandlerId = item.handlerId;
        cycleOwner = OPENS_EXTENDED_CYCLE.has(item.message[0] ?? 0) ? item.handlerId : null;
        item.resolve(bytes);
      }
    } finally {
      q.processing = false;
    }
  };

  const clearQueueForHandler = q.clearQueueForHandler.bind(q);
  q.clearQueueForHandler = (handlerId: number) => {
    clearQueueForHandler(handlerId);
    // A connection that died mid-cycle must not hold everyone else's queries forever.
    if (cycleOwner === handlerId) {
      cycleOwner = null;
      void q.processQueue();
    }
  };
}
