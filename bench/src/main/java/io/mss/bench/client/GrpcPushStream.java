package io.mss.bench.client;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.mss.protocol.push.v1.PushReply;
import io.mss.protocol.push.v1.PushRequest;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The business server's side of MSS's streaming push API: one gRPC {@code PushStream} over h2c,
 * pushes written as they come, each future completed by the reply in its place (the server
 * answers in order). grpc-java, as a business server would use it.
 */
public final class GrpcPushStream implements AutoCloseable {
    private static final MethodDescriptor<PushRequest, PushReply> PUSH_STREAM = MethodDescriptor
            .<PushRequest, PushReply>newBuilder().setType(MethodDescriptor.MethodType.BIDI_STREAMING)
            .setFullMethodName("mss.push.v1.PushService/PushStream")
            .setRequestMarshaller(ProtoUtils.marshaller(PushRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(PushReply.getDefaultInstance())).build();

    private final ManagedChannel channel;
    private final Channel withKey;
    /** Guarded by this: the open stream and the pushes on it not answered yet, oldest first. */
    private StreamObserver<PushRequest> stream;
    private final ArrayDeque<CompletableFuture<Void>> pending = new ArrayDeque<>();

    public GrpcPushStream(String host, int port, String apiKey) {
        channel = Grpc.newChannelBuilderForAddress(host, port, InsecureChannelCredentials.create()).build();
        Metadata metadata = new Metadata();
        metadata.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + apiKey);
        withKey = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(metadata));
    }

    /** Completes when the server answered OK (or DUPLICATED_BIZ_ID); fails on a refusal. */
    public CompletableFuture<Void> push(String bizType, String linkToken, String payload) {
        PushRequest.Builder request = PushRequest.newBuilder().setBizType(bizType).setPayload(payload);
        if (linkToken != null) {
            request.setLinkToken(linkToken);
        }
        CompletableFuture<Void> answered = new CompletableFuture<>();
        synchronized (this) {
            if (stream == null) {
                stream = open();
            }
            pending.addLast(answered);
            stream.onNext(request.build()); // a StreamObserver takes one caller at a time
        }
        return answered;
    }

    private StreamObserver<PushRequest> open() {
        return ClientCalls.asyncBidiStreamingCall(withKey.newCall(PUSH_STREAM, CallOptions.DEFAULT),
                new StreamObserver<>() {
                    @Override
                    public void onNext(PushReply reply) {
                        CompletableFuture<Void> answered;
                        synchronized (GrpcPushStream.this) {
                            answered = pending.pollFirst();
                        }
                        if (answered == null) {
                            return;
                        }
                        if (reply.getSuccess()) {
                            answered.complete(null);
                        } else {
                            answered.completeExceptionally(new IllegalStateException(reply.getResultCode() + ": "
                                    + reply.getMessage()));
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        failAll(t);
                    }

                    @Override
                    public void onCompleted() {
                        failAll(new IllegalStateException("the push stream ended"));
                    }
                });
    }

    /** The stream is gone: what it held fails, and the next push opens another. */
    private void failAll(Throwable cause) {
        ArrayDeque<CompletableFuture<Void>> failed;
        synchronized (this) {
            failed = new ArrayDeque<>(pending);
            pending.clear();
            stream = null;
        }
        failed.forEach(f -> f.completeExceptionally(cause));
    }

    @Override
    public void close() {
        synchronized (this) {
            if (stream != null) {
                stream.onCompleted();
                stream = null;
            }
        }
        channel.shutdown();
        try {
            if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
