package io.mss.client.internal;

import io.mss.client.UpstreamReply;
import io.mss.client.UpstreamTimeoutException;
import io.mss.client.internal.proto.ClientFrame;
import io.mss.client.internal.proto.UpstreamResult;
import io.mss.protocol.ProtocolVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The table of upstream messages waiting for an answer, on a real state thread, without a server. */
class UpstreamRequestsTest {
    final StateLoop loop = new StateLoop("test-state", Runnable::run);
    /** "connection id: client message id" per frame sent. */
    final List<String> sent = new CopyOnWriteArrayList<>();
    final Connection first = OnStateThread.welcomed("ivy", ProtocolVersion.MAX);
    final Connection second = new Connection(2, "ivy", new ClientConfig(), null, null);

    @AfterEach
    void stop() {
        loop.shutdown();
    }

    UpstreamRequests table(long timeoutMillis) {
        return new UpstreamRequests(loop, timeoutMillis, Runnable::run,
                (Connection c, ClientFrame f) -> sent.add(c.id + ":" + f.getUpstream().getClientMsgId()));
    }

    static UpstreamResult answer(String id) {
        return UpstreamResult.newBuilder().setClientMsgId(id).setSuccess(true).setCode("OK").setPayload("done").build();
    }

    @Test
    void anAnswerCompletesTheFutureAndAnUnknownOneIsIgnored() throws Exception {
        UpstreamRequests table = table(10_000);
        UpstreamRequests.Request r = UpstreamRequests.newRequest("CHAT", "hi");
        OnStateThread.run(loop, () -> {
            table.add(r, first);
            table.answered(answer("someone-else"));
            table.answered(answer(r.id));
        });
        UpstreamReply reply = r.future.get(5, TimeUnit.SECONDS);
        assertThat(reply.success()).isTrue();
        assertThat(reply.payload()).isEqualTo("done");
        assertThat(sent).containsExactly("1:" + r.id);
        assertThat(OnStateThread.call(loop, table::size)).isZero();
    }

    @Test
    void noAnswerWithinTheTimeoutFailsTheFutureConnectedOrNot() throws Exception {
        UpstreamRequests table = table(50);
        UpstreamRequests.Request offline = UpstreamRequests.newRequest("CHAT", "queued");
        UpstreamRequests.Request online = UpstreamRequests.newRequest("CHAT", "sent");
        OnStateThread.run(loop, () -> {
            table.add(offline, null);
            table.add(online, first);
        });
        for (UpstreamRequests.Request r : new UpstreamRequests.Request[] {offline, online}) {
            assertThatThrownBy(() -> r.future.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(UpstreamTimeoutException.class);
        }
        assertThat(sent).containsExactly("1:" + online.id);
    }

    @Test
    void eachNewSessionGetsTheUnansweredOnesOnceInOrderWithTheirIds() throws Exception {
        UpstreamRequests table = table(10_000);
        UpstreamRequests.Request a = UpstreamRequests.newRequest("CHAT", "a");
        UpstreamRequests.Request b = UpstreamRequests.newRequest("CHAT", "b");
        OnStateThread.run(loop, () -> {
            table.add(a, first);
            table.add(b, null);
            table.resend(first, () -> true);
            table.resend(second, () -> true);
            table.resend(second, () -> true);
        });
        assertThat(sent).containsExactly("1:" + a.id, "1:" + b.id, "2:" + a.id, "2:" + b.id);
    }

    @Test
    void aForgottenRequestIsNotResentAndCloseFailsTheRest() throws Exception {
        UpstreamRequests table = table(10_000);
        UpstreamRequests.Request a = UpstreamRequests.newRequest("CHAT", "a");
        UpstreamRequests.Request b = UpstreamRequests.newRequest("CHAT", "b");
        OnStateThread.run(loop, () -> {
            table.add(a, null);
            table.add(b, null);
            table.forget(a);
            table.resend(first, () -> true);
            table.failAll(new IllegalStateException("closed"));
        });
        assertThat(sent).containsExactly("1:" + b.id);
        assertThatThrownBy(() -> b.future.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class);
        assertThat(a.future.isDone()).isFalse();
    }
}
