package io.mss.server.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.ext.web.RoutingContext;
import io.mss.server.records.OperationRecord;
import io.mss.server.records.RecordStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.List;

/**
 * Writes operation records for requests that succeeded. A record that cannot be written is a
 * WARN, never a failed request: the change it describes already happened. Pushes record on the
 * event loop: PostgreSQL's {@code appendLater} only queues, RocksDB's is an unsynced memtable write.
 */
final class Recorder {
    private static final Logger log = LoggerFactory.getLogger(Recorder.class);

    private final RecordStore store;
    private final ObjectMapper mapper;
    private final Clock clock;

    Recorder(RecordStore store, ObjectMapper mapper, Clock clock) {
        this.store = store;
        this.mapper = mapper;
        this.clock = clock;
    }

    ObjectNode detail() {
        return mapper.createObjectNode();
    }

    /** @param ctx the request: its API key's id is the record's actor */
    OperationRecord draft(RoutingContext ctx, OperationRecord.Type type, String bizType, ObjectNode detail) {
        return OperationRecord.draft(type, clock.millis(), ApiAccess.actor(ctx), bizType, detail);
    }

    /** @param actor the id of the API key that made the request */
    OperationRecord draft(String actor, OperationRecord.Type type, String bizType, ObjectNode detail) {
        return OperationRecord.draft(type, clock.millis(), actor, bizType, detail);
    }

    void record(RoutingContext ctx, OperationRecord.Type type, String bizType, ObjectNode detail) {
        recordAll(List.of(draft(ctx, type, bizType, detail)));
    }

    void recordAll(List<OperationRecord> drafts) {
        if (drafts.isEmpty()) {
            return;
        }
        try {
            store.appendLater(drafts);
        } catch (RuntimeException e) {
            log.warn("could not write {} operation record(s), first {} {}: {}", drafts.size(), drafts.get(0).type(),
                    drafts.get(0).bizType(), e.toString());
        }
    }
}
