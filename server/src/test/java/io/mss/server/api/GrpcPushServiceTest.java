package io.mss.server.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.mss.protocol.push.v1.PushBatchReply;
import io.mss.protocol.push.v1.PushBatchRequest;
import io.mss.protocol.push.v1.PushReply;
import io.mss.protocol.push.v1.PushRequest;
import io.mss.server.auth.ApiKeys;
import io.mss.server.biz.BizType;
import io.mss.server.config.ServerConfig;
import io.mss.server.records.RecordStore;
import io.mss.server.store.Oplog;
import io.mss.server.store.Scope;
import io.mss.server.store.rocksdb.RocksDbStore;
import io.mss.server.sync.SyncEngine;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The gRPC push service on a real Vert.x HTTP/2 server over a real RocksDB store, called by
 * grpc-java (an independent gRPC implementation, as a business server would use) with the
 * method descriptors built from {@code mss_push.proto}'s messages.
 */
class GrpcPushServiceTest {
    private static final String KEY = "grpc-test-key";
    private static final String SERVICE = "mss.push.v1.PushService";
    private static final MethodDescriptor<PushRequest, PushReply> PUSH = unary("Push");
    private static final MethodDescriptor<PushRequest, PushReply> PUSH_GLOBAL = unary("PushGlobal");
    private static final MethodDescriptor<PushBatchRequest, PushBatchReply> PUSH_BATCH = MethodDescriptor
            .<PushBatchRequest, PushBatchReply>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(SERVICE + "/PushBatch")
            .setRequestMarshaller(ProtoUtils.marshaller(PushBatchRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(PushBatchReply.getDefaultInstance())).build();
    private static final MethodDescriptor<PushRequest, PushReply> PUSH_STREAM = MethodDescriptor
            .<PushRequest, PushReply>newBuilder().setType(MethodDescriptor.MethodType.BIDI_STREAMING)
            .setFullMethodName(SERVICE + "/PushStream")
            .setRequestMarshaller(ProtoUtils.marshaller(PushRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(PushReply.getDefaultInstance())).build();

    @TempDir
    Path dir;
    /** Pushes a second each key may make (0: no limit); one test sets it and serves again. */
    private int rate;
    private RocksDbStore store;
    private Vertx vertx;
    private ManagedChannel channel;
    private Channel authorized;
    private int port;

    @BeforeEach
    void start() throws Exception {
        serve();
    }

    private void serve() throws Exception {
        store = RocksDbStore.open(dir.resolve("store"));
        store.put(BizType.of("CHAT", BizType.Range.APPOINTED, BizType.Target.USER));
        store.put(BizType.of("NEWS", BizType.Range.GLOBAL, BizType.Target.USER));
        ServerConfig config = new ServerConfig();
        config.dataDir = dir.toString();
        SyncEngine engine = new SyncEngine(store, store, store, Clock.systemUTC(), 100, 1 << 20);
        ObjectMapper mapper = new ObjectMapper();
        GrpcPushService service = new GrpcPushService(config, engine, new ApiKeys(dir, KEY), new PushRateLimiter(rate),
                new Recorder(RecordStore.discarding(), mapper, Clock.systemUTC()), mapper, Clock.systemUTC());
        vertx = Vertx.vertx();
        HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(true))
                .requestHandler(service.handler(vertx));
        port = server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)
                .actualPort();
        channel = Grpc.newChannelBuilderForAddress("127.0.0.1", port, InsecureChannelCredentials.create()).build();
        Metadata metadata = new Metadata();
        metadata.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + KEY);
        authorized = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(metadata));
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        store.close();
    }

    @Test
    void aPushIsStoredOnceAndAnsweredLikeTheHttpApi() {
        PushRequest push = PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice").setPayload("hello 👋")
                .setThirdMsgId("order-1").build();
        PushReply first = ClientCalls.blockingUnaryCall(authorized, PUSH, CallOptions.DEFAULT, push);
        PushReply again = ClientCalls.blockingUnaryCall(authorized, PUSH, CallOptions.DEFAULT, push);

        assertThat(first.getSuccess()).isTrue();
        assertThat(first.getResultCode()).isEqualTo("OK");
        assertThat(first.getHttpStatus()).isEqualTo(200);
        assertThat(again.getResultCode()).isEqualTo("DUPLICATED_BIZ_ID");
        assertThat(again.getOplogId()).isEqualTo(first.getOplogId());
        List<Oplog> stored = store.read(Scope.user("CHAT", "alice"), 0, 10);
        assertThat(stored).hasSize(1);
        assertThat(stored.get(0).payload()).isEqualTo("hello 👋");
        assertThat(stored.get(0).id()).isEqualTo(first.getOplogId());
    }

    @Test
    void refusalsCarryTheHttpApisResultCodesAndStoreNothing() {
        assertThat(push(PUSH, PushRequest.newBuilder().setBizType("NOPE").setLinkToken("alice").setPayload("x")))
                .satisfies(r -> assertRefused(r, 404, "BIZ_TYPE_NOT_FOUND"));
        assertThat(push(PUSH, PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice")))
                .satisfies(r -> assertRefused(r, 400, "MISSING_FIELD"));
        assertThat(push(PUSH, PushRequest.newBuilder().setBizType("CHAT").setPayload("x")))
                .satisfies(r -> assertRefused(r, 400, "MISSING_FIELD"));
        assertThat(push(PUSH, PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice")
                .setPayload("x".repeat(new ServerConfig().maxPayloadChars + 1))))
                .satisfies(r -> assertRefused(r, 400, "PAYLOAD_TOO_LARGE"));
        assertThat(push(PUSH, PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice").setPayload("x")
                .setThirdMsgId("")))
                .satisfies(r -> assertRefused(r, 400, "INVALID_THIRD_MSG_ID"));
        assertThat(push(PUSH, PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice").setPayload("x")
                .setValidTimeEnd(1)))
                .satisfies(r -> assertRefused(r, 400, "INVALID_VALIDITY"));
        assertThat(push(PUSH, PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice").setPayload("x")
                .addUidList("bob")))
                .satisfies(r -> assertRefused(r, 400, "INVALID_FILTER"));
        // a global push names no linkToken, exactly as POST /api/v1/push/global refuses one
        assertThat(push(PUSH_GLOBAL, PushRequest.newBuilder().setBizType("NEWS").setLinkToken("alice")
                .setPayload("x")))
                .satisfies(r -> assertRefused(r, 400, "INVALID_REQUEST"));
        assertThat(push(PUSH_GLOBAL, PushRequest.newBuilder().setBizType("NEWS").setPayload("to all")).getResultCode())
                .isEqualTo("OK");

        assertThat(store.read(Scope.user("CHAT", "alice"), 0, 10)).isEmpty();
        assertThat(store.read(Scope.global("NEWS"), 0, 10)).extracting(Oplog::payload).containsExactly("to all");
    }

    @Test
    void aCallWithoutAValidKeyIsRefusedBeforeAnythingIsRead() {
        PushRequest push = PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice").setPayload("x").build();
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, PUSH, CallOptions.DEFAULT, push))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                    assertThat(e.getTrailers().get(Metadata.Key.of("mss-result-code", Metadata.ASCII_STRING_MARSHALLER)))
                            .isEqualTo("UNAUTHORIZED");
                });
        Metadata wrong = new Metadata();
        wrong.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer not-the-key");
        Channel withWrongKey = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(wrong));
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(withWrongKey, PUSH, CallOptions.DEFAULT, push))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
        assertThat(store.read(Scope.user("CHAT", "alice"), 0, 10)).isEmpty();
    }

    @Test
    void bytesThatAreNotUtf8AreRefusedNotAltered() throws Exception {
        // field 1 (bizType) "CHAT", field 2 (linkToken) "alice", field 3 (payload) 0xC3 0x28: not UTF-8
        byte[] bad = {0x0A, 4, 'C', 'H', 'A', 'T', 0x12, 5, 'a', 'l', 'i', 'c', 'e', 0x1A, 2, (byte) 0xC3, 0x28};
        MethodDescriptor<byte[], PushReply> raw = MethodDescriptor.<byte[], PushReply>newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName(SERVICE + "/Push")
                .setRequestMarshaller(new MethodDescriptor.Marshaller<>() {
                    @Override
                    public InputStream stream(byte[] value) {
                        return new ByteArrayInputStream(value);
                    }

                    @Override
                    public byte[] parse(InputStream stream) {
                        throw new UnsupportedOperationException();
                    }
                })
                .setResponseMarshaller(ProtoUtils.marshaller(PushReply.getDefaultInstance())).build();
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(authorized, raw, CallOptions.DEFAULT, bad))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).startsWith("INVALID_ENCODING: ").contains("UTF-8");
                    assertThat(e.getTrailers().get(Metadata.Key.of("mss-result-code", Metadata.ASCII_STRING_MARSHALLER)))
                            .isEqualTo("INVALID_ENCODING");
                });
        assertThat(store.read(Scope.user("CHAT", "alice"), 0, 10)).isEmpty();
        // the connection serves the next call
        assertThat(push(PUSH, PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice").setPayload("ok"))
                .getResultCode()).isEqualTo("OK");
    }

    @Test
    void aBatchStoresEveryGoodOrderAndAnswersEachInItsPlace() {
        PushBatchRequest batch = PushBatchRequest.newBuilder()
                .addOrders(PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice").setPayload("one"))
                .addOrders(PushRequest.newBuilder().setBizType("NOPE").setLinkToken("alice").setPayload("bad"))
                .addOrders(PushRequest.newBuilder().setBizType("NEWS").setPayload("everyone"))
                .build();
        PushBatchReply reply = ClientCalls.blockingUnaryCall(authorized, PUSH_BATCH, CallOptions.DEFAULT, batch);

        assertThat(reply.getAccepted()).isEqualTo(2);
        assertThat(reply.getFailed()).isEqualTo(1);
        assertThat(reply.getResultsList()).extracting(PushReply::getResultCode)
                .containsExactly("OK", "BIZ_TYPE_NOT_FOUND", "OK");
        assertThat(store.read(Scope.user("CHAT", "alice"), 0, 10)).extracting(Oplog::payload).containsExactly("one");
        assertThat(store.read(Scope.global("NEWS"), 0, 10)).extracting(Oplog::payload).containsExactly("everyone");

        PushBatchReply empty = ClientCalls.blockingUnaryCall(authorized, PUSH_BATCH, CallOptions.DEFAULT,
                PushBatchRequest.getDefaultInstance());
        assertThat(empty.getSuccess()).isFalse();
        assertThat(empty.getResultCode()).isEqualTo("INVALID_REQUEST");
    }

    @Test
    void aStreamOfPushesIsAnsweredInOrderWithRefusalsInTheirPlace() throws Exception {
        int count = 5_000; // more than the stream lets into the engine at once: reading pauses and resumes
        List<PushReply> replies = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        StreamObserver<PushRequest> requests = ClientCalls.asyncBidiStreamingCall(
                authorized.newCall(PUSH_STREAM, CallOptions.DEFAULT), observer(replies, failed, done));
        for (int i = 0; i < count; i++) {
            PushRequest.Builder push = PushRequest.newBuilder().setBizType(i % 100 == 99 ? "NOPE" : "CHAT")
                    .setLinkToken("user-" + (i % 7)).setPayload("message " + i);
            requests.onNext(push.build());
        }
        requests.onCompleted();
        assertThat(done.await(60, TimeUnit.SECONDS)).as("the stream ends").isTrue();
        assertThat(failed.get()).isNull();

        assertThat(replies).hasSize(count);
        long[] lastId = new long[7];
        for (int i = 0; i < count; i++) {
            PushReply reply = replies.get(i);
            if (i % 100 == 99) {
                assertRefused(reply, 404, "BIZ_TYPE_NOT_FOUND");
                continue;
            }
            assertThat(reply.getResultCode()).as("reply %d", i).isEqualTo("OK");
            assertThat(reply.getOplogId()).as("ids of one scope grow in the order pushed").isGreaterThan(lastId[i % 7]);
            lastId[i % 7] = reply.getOplogId();
        }
        for (int user = 0; user < 7; user++) {
            List<Oplog> stored = store.read(Scope.user("CHAT", "user-" + user), 0, count);
            List<String> expected = new ArrayList<>();
            for (int i = user; i < count; i += 7) {
                if (i % 100 != 99) {
                    expected.add("message " + i);
                }
            }
            assertThat(stored).extracting(Oplog::payload).as("user-%d: stored once each, in order", user)
                    .containsExactlyElementsOf(expected);
        }
    }

    @Test
    void beyondTheKeysRateAPushIsAnsweredRateLimitedWithWhenToRetry() throws Exception {
        stop();
        rate = 2;
        serve();
        List<PushReply> replies = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            replies.add(push(PUSH, PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice").setPayload("m" + i)));
        }

        assertThat(replies).extracting(PushReply::getResultCode).containsExactly("OK", "OK", "RATE_LIMITED");
        assertRefused(replies.get(2), 429, "RATE_LIMITED");
        assertThat(replies.get(2).getRetryAfterMs()).isPositive();
        assertThat(store.read(Scope.user("CHAT", "alice"), 0, 10)).hasSize(2);
    }

    @Test
    void aUnaryCallWithTwoMessagesIsRefused() throws Exception {
        MethodDescriptor<PushRequest, PushReply> twice = PUSH.toBuilder()
                .setType(MethodDescriptor.MethodType.CLIENT_STREAMING).build();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        StreamObserver<PushRequest> requests = ClientCalls.asyncClientStreamingCall(
                authorized.newCall(twice, CallOptions.DEFAULT), observer(new ArrayList<>(), failed, done));
        PushRequest push = PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice").setPayload("x").build();
        requests.onNext(push);
        requests.onNext(push);
        requests.onCompleted();
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        // the first was pushed (or is on its way); the call as a whole is refused
        assertThat(failed.get()).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getDescription()).startsWith("INVALID_REQUEST: "));
    }

    @Test
    void aFieldTheProtoDoesNotDefineIsRefusedNotDropped() {
        PushRequest withUnknown = PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice").setPayload("x")
                .setUnknownFields(com.google.protobuf.UnknownFieldSet.newBuilder().addField(99,
                        com.google.protobuf.UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build()).build();

        PushReply reply = ClientCalls.blockingUnaryCall(authorized, PUSH, CallOptions.DEFAULT, withUnknown);

        assertRefused(reply, 400, "INVALID_REQUEST");
        assertThat(reply.getMessage()).contains("99");
        assertThat(store.read(Scope.user("CHAT", "alice"), 0, 10)).isEmpty();
    }

    @Test
    void aPushMessageAboveTheRequestLimitIsRefusedAsTooLarge() {
        PushRequest huge = PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice")
                .setPayload("x".repeat(new ServerConfig().maxRequestBytes + 1)).build();

        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(authorized, PUSH, CallOptions.DEFAULT, huge))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                    assertThat(e.getStatus().getDescription()).startsWith("REQUEST_TOO_LARGE: ");
                });
        assertThat(store.read(Scope.user("CHAT", "alice"), 0, 10)).isEmpty();
    }

    @Test
    void anUnreadableMessageInAStreamEndsItAfterEveryEarlierPushIsAnswered() throws Exception {
        MethodDescriptor<byte[], PushReply> raw = PUSH_STREAM.toBuilder(rawBytes(),
                ProtoUtils.marshaller(PushReply.getDefaultInstance())).build();
        List<PushReply> replies = new ArrayList<>();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(authorized.newCall(raw, CallOptions.DEFAULT),
                observer(replies, failed, done));
        for (int i = 0; i < 3; i++) {
            requests.onNext(PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice").setPayload("m" + i)
                    .build().toByteArray());
        }
        requests.onNext(new byte[]{0x1A, 2, (byte) 0xC3, 0x28}); // payload: not UTF-8
        requests.onNext(PushRequest.newBuilder().setBizType("CHAT").setLinkToken("alice").setPayload("after")
                .build().toByteArray());
        requests.onCompleted();
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();

        synchronized (replies) {
            assertThat(replies).extracting(PushReply::getResultCode).containsExactly("OK", "OK", "OK");
        }
        assertThat(failed.get()).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).startsWith("INVALID_ENCODING: ");
        });
        assertThat(store.read(Scope.user("CHAT", "alice"), 0, 10)).extracting(Oplog::payload)
                .as("what followed the unreadable message is not read").containsExactly("m0", "m1", "m2");
    }

    private static <T> StreamObserver<T> observer(List<T> into, AtomicReference<Throwable> failed, CountDownLatch done) {
        return new StreamObserver<>() {
            @Override
            public void onNext(T value) {
                synchronized (into) {
                    into.add(value);
                }
            }

            @Override
            public void onError(Throwable t) {
                failed.set(t);
                done.countDown();
            }

            @Override
            public void onCompleted() {
                done.countDown();
            }
        };
    }

    private static MethodDescriptor.Marshaller<byte[]> rawBytes() {
        return new MethodDescriptor.Marshaller<>() {
            @Override
            public InputStream stream(byte[] value) {
                return new ByteArrayInputStream(value);
            }

            @Override
            public byte[] parse(InputStream stream) {
                throw new UnsupportedOperationException();
            }
        };
    }

    private PushReply push(MethodDescriptor<PushRequest, PushReply> method, PushRequest.Builder request) {
        return ClientCalls.blockingUnaryCall(authorized, method, CallOptions.DEFAULT, request.build());
    }

    private static void assertRefused(PushReply reply, int status, String resultCode) {
        assertThat(reply.getSuccess()).isFalse();
        assertThat(reply.getResultCode()).isEqualTo(resultCode);
        assertThat(reply.getHttpStatus()).isEqualTo(status);
        assertThat(reply.getMessage()).isNotBlank();
        assertThat(reply.getMessage().getBytes(StandardCharsets.UTF_8)).isNotEmpty();
    }

    private static MethodDescriptor<PushRequest, PushReply> unary(String name) {
        return MethodDescriptor.<PushRequest, PushReply>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName(SERVICE + "/" + name)
                .setRequestMarshaller(ProtoUtils.marshaller(PushRequest.getDefaultInstance()))
                .setResponseMarshaller(ProtoUtils.marshaller(PushReply.getDefaultInstance())).build();
    }
}
