package io.mss.server.store;

import io.mss.server.biz.BizType;

import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Sync configurations, by id. Writes are durable when the call returns. Create, update and
 * delete are atomic per id for every node sharing the store, not just within one process.
 */
public interface BizTypeStore {

    Optional<BizType> get(String id);

    /** All configurations, ordered by id. */
    List<BizType> list();

    /** Creates or replaces, unconditionally. */
    void put(BizType bizType);

    /**
     * Creates the bizType unless one with its id exists; of two concurrent creates of one id
     * exactly one succeeds.
     *
     * @return whether it was created
     */
    boolean create(BizType bizType);

    /**
     * Replaces the bizType with {@code change} applied to its current value, with no other
     * create, update or delete of the id in between. An exception from {@code change} leaves it
     * as it was and is thrown as is.
     *
     * @return the value before and after, empty when the bizType does not exist
     */
    Optional<Change> update(String id, UnaryOperator<BizType> change);

    /** @return whether it existed */
    boolean delete(String id);

    /**
     * Deletes the bizType and, in the same atomic step, its oplogs and idempotency keys (ids
     * are kept: a bizType created later with the id goes on above them). With oplogs stored
     * and {@code force} false nothing is deleted.
     */
    Deletion deleteWithData(String id, boolean force);

    record Change(BizType old, BizType updated) {
    }

    /**
     * @param old     the deleted configuration, null when there was none
     * @param hadData whether oplogs were stored
     * @param deleted false when absent, or refused for its data
     */
    record Deletion(BizType old, boolean hadData, boolean deleted) {
    }
}
