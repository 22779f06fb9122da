package io.mss.server.store.postgres;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mss.server.store.DeliveryFilter;
import io.mss.server.store.StoreException;

/** A delivery filter as a JSON column; null for {@link DeliveryFilter#NONE}, the common case. */
final class FilterCodec {
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private FilterCodec() {
    }

    static String encode(DeliveryFilter filter) {
        if (filter == null || filter.isNone()) {
            return null;
        }
        try {
            return JSON.writeValueAsString(filter);
        } catch (JsonProcessingException e) {
            throw new StoreException("could not encode a delivery filter: " + e.getMessage(), e);
        }
    }

    static DeliveryFilter decode(String json) {
        if (json == null) {
            return DeliveryFilter.NONE;
        }
        try {
            return JSON.readValue(json, DeliveryFilter.class);
        } catch (JsonProcessingException e) {
            throw new StoreException("stored delivery filter is unreadable: " + e.getMessage(), e);
        }
    }
}
