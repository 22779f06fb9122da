package io.mss.server.sync;

import io.mss.server.store.Oplog;
import io.mss.server.store.OplogStore;
import io.netty.channel.EventLoop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one session's drain reads from the store. With an inline {@link StoreReader} it reads on
 * the spot; otherwise it answers from oplogs read ahead on the reader's threads, and a cursor it
 * has nothing for is read in the background, after which the session drains again.
 *
 * <p>Threading: owned by the session's event loop, like the session's cursors; every method
 * runs there (asserted).
 *
 * <p>Oplogs read ahead stay valid while the cursor moves: they are the stored oplogs above the
 * position they were read from, and those above the cursor's position now are what a read from
 * there would return. An empty answer is only given when no commit was heard of since the read,
 * so a wake-up that arrived while the read was out is never swallowed.
 */
final class ReadAhead {
    private static final Logger log = LoggerFactory.getLogger(ReadAhead.class);

    /** One read: the stored oplogs above {@code afterId}, at most {@code limit}. */
    private record Fetched(long afterId, long knownHeadAtRead, int limit, List<Oplog> oplogs) {
    }

    private record Wanted(Cursor cursor, long afterId, long knownHead, int generation) {
    }

    private final StoreReader reader;
    private final OplogStore oplogs;
    private final EventLoop loop;
    private final int limit;
    private final Map<Cursor, Fetched> fetched = new HashMap<>();
    private final Set<Cursor> wanted = new LinkedHashSet<>();
    /** Bumped when a cursor starts over: a read that was out for it then answers for a position it left. */
    private final Map<Cursor, Integer> generations = new HashMap<>();
    private boolean reading;

    ReadAhead(StoreReader reader, OplogStore oplogs, EventLoop loop, int limit) {
        this.reader = reader;
        this.oplogs = oplogs;
        this.loop = loop;
        this.limit = limit;
    }

    /**
     * Up to {@code room} stored oplogs above the cursor's {@code sentUpTo}, ascending; empty when
     * there are none; null when they are being read (the session drains again once they are in).
     */
    List<Oplog> take(Cursor cursor, int room) {
        assert loop.inEventLoop() : "a session's reads belong to its event loop";
        if (reader.isInline()) {
            return oplogs.read(cursor.scope, cursor.sentUpTo, room);
        }
        Fetched read = fetched.get(cursor);
        if (read != null && read.afterId() <= cursor.sentUpTo) {
            List<Oplog> above = new ArrayList<>(Math.min(room, read.oplogs().size()));
            for (Oplog oplog : read.oplogs()) {
                if (oplog.id() > cursor.sentUpTo) {
                    above.add(oplog);
                    if (above.size() == room) {
                        break;
                    }
                }
            }
            if (!above.isEmpty()) {
                return above;
            }
            boolean toTheEnd = read.oplogs().size() < read.limit();
            if (toTheEnd && cursor.knownHead <= read.knownHeadAtRead()) {
                return List.of();
            }
        }
        fetched.remove(cursor);
        wanted.add(cursor);
        return null;
    }

    /** What was read for the cursor may not be taken later (it went above the announced head). */
    void discard(Cursor cursor) {
        assert loop.inEventLoop() : "a session's reads belong to its event loop";
        fetched.remove(cursor);
    }

    /** The cursor starts over (another timeline): what was read for it is of no use. */
    void forget(Cursor cursor) {
        fetched.remove(cursor);
        generations.merge(cursor, 1, Integer::sum);
    }

    /** Reads what {@link #take} could not answer, then runs {@code drain} on the event loop. */
    void fetchWanted(Runnable drain, String sessionId) {
        assert loop.inEventLoop() : "a session's reads belong to its event loop";
        if (wanted.isEmpty() || reading) {
            return; // what is wanted meanwhile is read after the read that is out
        }
        List<Wanted> requests = new ArrayList<>(wanted.size());
        for (Cursor cursor : wanted) {
            requests.add(new Wanted(cursor, cursor.sentUpTo, cursor.knownHead, generations.getOrDefault(cursor, 0)));
        }
        wanted.clear();
        reading = true;
        reader.read(loop, () -> {
            List<Fetched> results = new ArrayList<>(requests.size());
            for (Wanted request : requests) {
                results.add(new Fetched(request.afterId(), request.knownHead(), limit,
                        oplogs.read(request.cursor().scope, request.afterId(), limit)));
            }
            return results;
        }).whenComplete((results, error) -> {
            reading = false;
            if (error != null) {
                // as a failed read on the spot: the next wake-up (a commit, the reconciliation) reads again
                log.warn("session {} could not read {} scopes: {}", sessionId, requests.size(), error.toString());
                return;
            }
            for (int i = 0; i < requests.size(); i++) {
                Wanted request = requests.get(i);
                // what was read for a position the cursor left since (another timeline, perhaps) is not used
                if (generations.getOrDefault(request.cursor(), 0) == request.generation()) {
                    fetched.put(request.cursor(), results.get(i));
                }
            }
            drain.run();
        });
    }
}
