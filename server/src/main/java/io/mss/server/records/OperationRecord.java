package io.mss.server.records;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Objects;

/**
 * One thing done through the API, kept for operators: a bizType created, updated or deleted, or
 * a push. Only requests that succeeded are recorded.
 *
 * @param id      assigned by the store; grows with every record, also across restarts
 * @param at      epoch millis
 * @param actor   who did it (for now always {@link #API_KEY_ACTOR}; keys with roles come later)
 * @param bizType the bizType it concerns
 * @param detail  a small JSON object: e.g. linkToken, thirdMsgId, oplogId, resultCode, or the
 *                old and new configuration
 */
public record OperationRecord(long id, Type type, long at, String actor, String bizType, ObjectNode detail) {

    public static final String API_KEY_ACTOR = "api-key";

    public enum Type { BIZ_TYPE_CREATED, BIZ_TYPE_UPDATED, BIZ_TYPE_DELETED, PUSH, PUSH_GLOBAL }

    public OperationRecord {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(actor, "actor");
        Objects.requireNonNull(bizType, "bizType");
        Objects.requireNonNull(detail, "detail");
    }

    /** A record to be stored; the store assigns its id. */
    public static OperationRecord draft(Type type, long at, String actor, String bizType, ObjectNode detail) {
        return new OperationRecord(0, type, at, actor, bizType, detail);
    }

    OperationRecord withId(long newId) {
        return new OperationRecord(newId, type, at, actor, bizType, detail);
    }
}
