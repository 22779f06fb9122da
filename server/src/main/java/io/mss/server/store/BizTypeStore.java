package io.mss.server.store;

import io.mss.server.biz.BizType;

import java.util.List;
import java.util.Optional;

/** Sync configurations, by id. Writes are durable when the call returns. */
public interface BizTypeStore {

    Optional<BizType> get(String id);

    /** All configurations, ordered by id. */
    List<BizType> list();

    /** Creates or replaces. */
    void put(BizType bizType);

    /** @return whether it existed */
    boolean delete(String id);
}
