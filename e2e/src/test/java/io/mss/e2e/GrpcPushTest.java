package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.TlsChannelCredentials;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.mss.protocol.push.v1.PushReply;
import io.mss.protocol.push.v1.PushRequest;
import io.mss.server.store.Scope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The gRPC push service on the server's HTTP port, called with grpc-java as a business server
 * would: over h2c, and over h2 with the port's certificate; what it stores reaches a device.
 */
class GrpcPushTest {
    private static final MethodDescriptor<PushRequest, PushReply> PUSH = method("Push", MethodDescriptor.MethodType.UNARY);
    private static final MethodDescriptor<PushRequest, PushReply> PUSH_STREAM = method("PushStream",
            MethodDescriptor.MethodType.BIDI_STREAMING);

    @TempDir
    Path tmp;

    @Test
    void aStreamOfPushesOverH2cReachesTheDeviceInOrderAndIsRecorded() throws Exception {
        try (TestServer server = TestServer.start(tmp.resolve("server"))) {
            assertThat(server.api.call("POST", "/api/v1/biz-types", "{\"id\":\"ORDER\"}").status()).isEqualTo(201);
            DeliveryChecker checker = new DeliveryChecker();
            ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", server.server.httpPort(),
                    InsecureChannelCredentials.create()).build();
            try (Device phone = Device.connect("phone-1", "alice", server, tmp.resolve("phone"), checker, "ORDER")) {
                int count = 2_000;
                List<PushReply> replies = new CopyOnWriteArrayList<>();
                CountDownLatch done = new CountDownLatch(1);
                AtomicReference<Throwable> failed = new AtomicReference<>();
                StreamObserver<PushRequest> pushes = ClientCalls.asyncBidiStreamingCall(
                        withKey(channel).newCall(PUSH_STREAM, CallOptions.DEFAULT), new StreamObserver<>() {
                            @Override
                            public void onNext(PushReply reply) {
                                replies.add(reply);
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
                        });
                for (int i = 0; i < count; i++) {
                    pushes.onNext(PushRequest.newBuilder().setBizType("ORDER").setLinkToken("alice")
                            .setPayload("order " + i).setThirdMsgId("order-" + i).build());
                }
                pushes.onCompleted();
                assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
                assertThat(failed.get()).isNull();
                assertThat(replies).hasSize(count);
                String scope = DeliveryChecker.scope("ORDER", "USER", "alice");
                for (int i = 0; i < count; i++) {
                    assertThat(replies.get(i).getResultCode()).isEqualTo("OK");
                    checker.acknowledged(scope, replies.get(i).getOplogId(), "order " + i);
                }

                await().atMost(Duration.ofSeconds(60)).until(() -> checker.deliveredCount("phone-1", scope) == count);
                DeliveryChecker.Report report = checker.check(Map.of("phone-1", List.of(scope)));
                assertThat(report.clean()).as(report.toString()).isTrue();

                // the same thirdMsgId again: stored once, the original id
                PushReply again = ClientCalls.blockingUnaryCall(withKey(channel), PUSH, CallOptions.DEFAULT,
                        PushRequest.newBuilder().setBizType("ORDER").setLinkToken("alice").setPayload("order 0")
                                .setThirdMsgId("order-0").build());
                assertThat(again.getResultCode()).isEqualTo("DUPLICATED_BIZ_ID");
                assertThat(again.getOplogId()).isEqualTo(replies.get(0).getOplogId());
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            // gRPC pushes are operation records like HTTP ones, with the key's id as the actor
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                JsonNode records = server.api.call("GET", "/api/v1/records?type=PUSH&limit=5", null).body();
                assertThat(records.path("records")).isNotEmpty();
                assertThat(records.path("records").get(0).path("actor").asText()).isEqualTo("api-key");
            });
        }
    }

    @Test
    void aPushOverH2WithThePortsCertificateIsStored() throws Exception {
        try (TestServer server = TestServer.start(tmp.resolve("tls"), c -> c.httpTls = true)) {
            Api https = new Api("https://localhost:" + server.server.httpPort(), TestServer.API_KEY,
                    java.net.http.HttpClient.newBuilder().sslContext(HttpsApiTest.trusting(server.certFile())).build());
            assertThat(https.call("POST", "/api/v1/biz-types", "{\"id\":\"NEWS\"}").status()).isEqualTo(201);
            ChannelCredentials tls = TlsChannelCredentials.newBuilder().trustManager(server.certFile().toFile()).build();
            ManagedChannel channel = Grpc.newChannelBuilderForAddress("localhost", server.server.httpPort(), tls).build();
            try {
                PushReply pushed = ClientCalls.blockingUnaryCall(withKey(channel), PUSH, CallOptions.DEFAULT,
                        PushRequest.newBuilder().setBizType("NEWS").setLinkToken("bob").setPayload("p").build());
                assertThat(pushed.getResultCode()).as(pushed.getMessage()).isEqualTo("OK");
                assertThat(server.server.engine().lastId(Scope.user("NEWS", "bob"))).isEqualTo(pushed.getOplogId());
                PushReply missing = ClientCalls.blockingUnaryCall(withKey(channel), PUSH, CallOptions.DEFAULT,
                        PushRequest.newBuilder().setBizType("NOPE").setLinkToken("bob").setPayload("p").build());
                assertThat(missing.getResultCode()).isEqualTo("BIZ_TYPE_NOT_FOUND");
                assertThat(missing.getHttpStatus()).isEqualTo(404);
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    private static Channel withKey(Channel channel) {
        Metadata metadata = new Metadata();
        metadata.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + TestServer.API_KEY);
        return ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(metadata));
    }

    private static MethodDescriptor<PushRequest, PushReply> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<PushRequest, PushReply>newBuilder().setType(type)
                .setFullMethodName("mss.push.v1.PushService/" + name)
                .setRequestMarshaller(ProtoUtils.marshaller(PushRequest.getDefaultInstance()))
                .setResponseMarshaller(ProtoUtils.marshaller(PushReply.getDefaultInstance())).build();
    }
}
