package io.mss.server.sync;

import io.mss.server.store.OplogStore;
import io.mss.server.store.SyncPointStore;

import java.time.Clock;

/**
 * What every session of an engine reads and writes, and how large its frames get: the stores,
 * the clock and the frame limits. The engine builds it once and hands it to each session.
 *
 * <p>Threading: immutable; built on the engine's thread and read on the sessions' event loops.
 *
 * @param frameBudgetBytes the estimated bytes a frame is filled to (half the frame cap)
 */
record SessionWiring(OplogStore oplogs, SyncPointStore syncPoints, Clock clock, int maxOplogsPerFrame,
                     int frameBudgetBytes) {
}
