package io.mss.mpaas;

import io.mss.client.Scope;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** msgData is what mPaaS apps parse: a JSON array of {mk, pl}, with the payload escaped. */
class SyncMessageTest {
    @Test
    void msgDataIsAJsonArrayWithTheOplogIdAndThePayload() {
        SyncMessage m = new SyncMessage(io.mss.client.SyncMessage.builder()
                .bizType("ORDER").scope(Scope.USER).id(42).userId("ivy").payload("{\"order\":7}").build());
        assertThat(m.msgData).isEqualTo("[{\"mk\":42,\"pl\":\"{\\\"order\\\":7}\"}]");
        assertThat(m.biz).isEqualTo("ORDER");
        assertThat(m.userId).isEqualTo("ivy");
        assertThat(m.id).isEqualTo("ORDER,USER,42");
        assertThat(m.hasMore).isFalse();
    }

    @Test
    void controlCharactersAndBackslashesAreEscaped() {
        assertThat(SyncMessage.msgData(1, "a\\b\n\u0001"))
                .isEqualTo("[{\"mk\":1,\"pl\":\"a\\\\b\\n\\u0001\"}]");
    }
}
