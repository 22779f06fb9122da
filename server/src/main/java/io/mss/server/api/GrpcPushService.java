package io.mss.server.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mss.protocol.push.v1.PushBatchReply;
import io.mss.protocol.push.v1.PushBatchRequest;
import io.mss.protocol.push.v1.PushReply;
import io.mss.protocol.push.v1.PushRequest;
import io.mss.server.auth.ApiKeys;
import io.mss.server.config.ServerConfig;
import io.mss.server.records.OperationRecord;
import io.mss.server.store.StoreException;
import io.mss.server.sync.SyncEngine;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.server.GrpcProtocol;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerOptions;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The push API over gRPC ({@code mss_push.proto}, service {@code mss.push.v1.PushService}): the
 * same pushes as {@code POST /api/v1/push}, {@code /push/global} and {@code /push/batch}, read by
 * the same {@link PushParser}, so validation, limits and result codes are the HTTP API's, plus a
 * bidirectional stream of pushes answered in order.
 *
 * <p>Who may call: the API key in the metadata ({@code authorization: Bearer <key>}), any role
 * (every method is a push). A call without a valid key ends with {@code UNAUTHENTICATED} before any
 * message is read. Refusals of one push are answers ({@code success false} and the HTTP API's
 * resultCode), never a failed call, so that a stream goes on after a bad push.
 *
 * <p>Threads: every handler runs on the event loop of the request's HTTP/2 connection. The
 * engine's futures complete on the store's writer thread; their answers hop back onto the
 * request's context before anything is written.
 */
public final class GrpcPushService {
    private static final Logger log = LoggerFactory.getLogger(GrpcPushService.class);

    public static final ServiceName SERVICE = ServiceName.create("mss.push.v1", "PushService");
    /** Pushes of one stream in the engine at once; above this the stream's reading pauses. */
    static final int STREAM_IN_FLIGHT = 1_024;
    /** Reading resumes when this few are left. */
    static final int STREAM_RESUME_AT = STREAM_IN_FLIGHT / 2;

    private static final ServiceMethod<PushRequest, PushReply> PUSH = method("Push", PushRequest.newBuilder());
    private static final ServiceMethod<PushRequest, PushReply> PUSH_GLOBAL = method("PushGlobal",
            PushRequest.newBuilder());
    private static final ServiceMethod<PushBatchRequest, PushBatchReply> PUSH_BATCH = method("PushBatch",
            PushBatchRequest.newBuilder());
    private static final ServiceMethod<PushRequest, PushReply> PUSH_STREAM = method("PushStream",
            PushRequest.newBuilder());

    /** How each push names its target: as the method says, or by whether it has a linkToken. */
    private enum Target { APPOINTED, GLOBAL, BY_LINK_TOKEN }

    private final ServerConfig config;
    private final SyncEngine engine;
    private final ApiKeys apiKeys;
    private final PushRateLimiter rateLimiter;
    private final Recorder recorder;
    private final ObjectMapper mapper;
    private final PushParser parser;
    private final Clock clock;

    GrpcPushService(ServerConfig config, SyncEngine engine, ApiKeys apiKeys, PushRateLimiter rateLimiter,
                    Recorder recorder, ObjectMapper mapper, Clock clock) {
        this.config = config;
        this.engine = engine;
        this.apiKeys = apiKeys;
        this.rateLimiter = rateLimiter;
        this.recorder = recorder;
        this.mapper = mapper;
        this.parser = new PushParser(config, engine::bizType);
        this.clock = clock;
    }

    /**
     * The handler for requests whose content type is {@code application/grpc}: plain gRPC over
     * HTTP/2 only (no gRPC-Web, no JSON transcoding), messages up to the batch body limit.
     */
    public GrpcServer server(Vertx vertx) {
        GrpcServerOptions options = new GrpcServerOptions()
                .setMaxMessageSize(HttpApi.LARGE_REQUEST_BYTES);
        for (GrpcProtocol protocol : GrpcProtocol.values()) {
            if (protocol != GrpcProtocol.HTTP_2) {
                options.removeEnabledProtocol(protocol);
            }
        }
        GrpcServer server = GrpcServer.server(vertx, options);
        server.callHandler(PUSH, call -> unary(call, Target.APPOINTED));
        server.callHandler(PUSH_GLOBAL, call -> unary(call, Target.GLOBAL));
        server.callHandler(PUSH_BATCH, this::batch);
        server.callHandler(PUSH_STREAM, this::stream);
        return server;
    }

    private void unary(GrpcServerRequest<PushRequest, PushReply> call, Target target) {
        String actor = admit(call);
        if (actor == null) {
            return;
        }
        Context context = Vertx.currentContext();
        read(call, PushRequest.parser(), request -> {
            // pushes, like HTTP requests, are rate limited per call: a batch is one
            String limited = rateLimited(actor);
            CompletableFuture<PushReply> reply = limited != null ? CompletableFuture.completedFuture(limitedReply(limited))
                    : submit(request, target, actor, -1, null);
            reply.whenComplete((answer, failure) -> context.runOnContext(v -> call.response().send(answer)));
        }, message -> refuseUnreadable(call.response(), message));
    }

    private void batch(GrpcServerRequest<PushBatchRequest, PushBatchReply> call) {
        String actor = admit(call);
        if (actor == null) {
            return;
        }
        Context context = Vertx.currentContext();
        read(call, PushBatchRequest.parser(), request -> {
            String limited = rateLimited(actor);
            if (limited != null) {
                PushReply refused = limitedReply(limited);
                call.response().send(PushBatchReply.newBuilder().setSuccess(false).setResultCode(refused.getResultCode())
                        .setMessage(refused.getMessage()).build());
                return;
            }
            int count = request.getOrdersCount();
            if (count == 0 || count > PushRoutes.MAX_BATCH_ORDERS) {
                ApiException refused = count == 0
                        ? ApiException.invalid("'orders' is empty: send 1 to " + PushRoutes.MAX_BATCH_ORDERS + " pushes")
                        : new ApiException(400, "BATCH_TOO_LARGE", "'orders' has " + count + " pushes; at most "
                                + PushRoutes.MAX_BATCH_ORDERS + " are allowed per batch");
                engine.metrics().push(refused.resultCode());
                call.response().send(PushBatchReply.newBuilder().setSuccess(false).setResultCode(refused.resultCode())
                        .setMessage(refused.getMessage()).build());
                return;
            }
            // every order reaches the engine before any is waited for: they share group commits
            List<OperationRecord> records = new ArrayList<>();
            @SuppressWarnings("unchecked")
            CompletableFuture<PushReply>[] replies = new CompletableFuture[count];
            for (int i = 0; i < count; i++) {
                replies[i] = submit(request.getOrders(i), Target.BY_LINK_TOKEN, actor, i, records);
            }
            CompletableFuture.allOf(replies).whenComplete((ignored, failure) -> {
                synchronized (records) {
                    recorder.recordAll(records);
                }
                PushBatchReply.Builder answer = PushBatchReply.newBuilder().setSuccess(true).setResultCode("OK");
                int accepted = 0;
                for (CompletableFuture<PushReply> reply : replies) {
                    PushReply result = reply.join(); // submit's futures never fail: failures are answers
                    answer.addResults(result);
                    if (result.getSuccess()) {
                        accepted++;
                    }
                }
                answer.setAccepted(accepted).setFailed(count - accepted);
                PushBatchReply built = answer.build();
                context.runOnContext(v -> call.response().send(built));
            });
        }, message -> refuseUnreadable(call.response(), message));
    }

    /**
     * A stream of pushes: each answered in the order it came, whatever order the store commits
     * them in. At most {@link #STREAM_IN_FLIGHT} wait for the store; then reading pauses, so a
     * client faster than the disk is slowed by HTTP/2 flow control, not buffered here.
     */
    private void stream(GrpcServerRequest<PushRequest, PushReply> call) {
        String actor = admit(call);
        if (actor == null) {
            return;
        }
        new PushStream(call, actor, Vertx.currentContext()).start();
    }

    /** One push stream's state; owned by the request's context (its event loop). */
    private final class PushStream {
        private final GrpcServerRequest<PushRequest, PushReply> call;
        private final String actor;
        private final Context context;
        private final ArrayDeque<CompletableFuture<PushReply>> pending = new ArrayDeque<>();
        private boolean paused;
        private boolean ended;
        private boolean closed;
        /** Why reading stopped: answered once every push before it is. */
        private String unreadable;

        PushStream(GrpcServerRequest<PushRequest, PushReply> call, String actor, Context context) {
            this.call = call;
            this.actor = actor;
            this.context = context;
        }

        void start() {
            GrpcServerResponse<PushRequest, PushReply> response = call.response();
            response.drainHandler(v -> flush());
            response.exceptionHandler(e -> closed = true);
            call.exceptionHandler(e -> closed = true);
            call.endHandler(v -> {
                ended = true;
                flush();
            });
            read(call, PushRequest.parser(), request -> {
                if (unreadable != null) {
                    return; // the stream is being ended; what follows the bad message is not read
                }
                String limited = rateLimited(actor);
                CompletableFuture<PushReply> reply = limited != null
                        ? CompletableFuture.completedFuture(limitedReply(limited))
                        : submit(request, Target.BY_LINK_TOKEN, actor, -1, null);
                pending.add(reply);
                if (pending.size() >= STREAM_IN_FLIGHT && !paused) {
                    paused = true;
                    call.pause();
                }
                if (reply.isDone()) {
                    flush();
                } else {
                    reply.whenComplete((answer, failure) -> context.runOnContext(v -> flush()));
                }
            }, message -> {
                if (unreadable == null) {
                    unreadable = message;
                    call.pause();
                    flush();
                }
            });
        }

        /** Writes every answer that is ready and has none unanswered before it. */
        private void flush() {
            assert Vertx.currentContext() == context : "a push stream is touched only on its own context";
            GrpcServerResponse<PushRequest, PushReply> response = call.response();
            while (!pending.isEmpty() && pending.peek().isDone() && !closed) {
                if (response.writeQueueFull()) {
                    return; // the drain handler comes back here
                }
                response.write(pending.poll().join());
            }
            if (unreadable != null) {
                if (pending.isEmpty() && !closed) {
                    closed = true;
                    refuseUnreadable(response, unreadable);
                }
                return;
            }
            if (paused && pending.size() <= STREAM_RESUME_AT && !response.writeQueueFull()) {
                paused = false;
                call.resume();
            }
            if (ended && pending.isEmpty() && !closed) {
                closed = true;
                response.end();
            }
        }
    }

    /**
     * Checks the call's API key; ends the call and answers null when it is missing or wrong.
     * @return the key's id: the actor of the operation records
     */
    private String admit(GrpcServerRequest<?, ?> call) {
        String authorization = call.headers().get("authorization");
        GrpcServerResponse<?, ?> response = call.response();
        if (authorization == null || !authorization.startsWith("Bearer ")) {
            refuse(response, GrpcStatus.UNAUTHENTICATED, "UNAUTHORIZED",
                    "missing 'authorization: Bearer <MSS_API_KEY>' metadata");
            return null;
        }
        String presented = authorization.substring("Bearer ".length()).trim();
        ApiKeys.Identity identity = presented.isEmpty() ? null : apiKeys.authenticate(presented);
        if (identity == null) {
            refuse(response, GrpcStatus.UNAUTHENTICATED, "UNAUTHORIZED", "invalid API key");
            return null;
        }
        if (config.requireSignedRequests) {
            // the signature covers an HTTP request's target and body; a gRPC call has neither
            refuse(response, GrpcStatus.PERMISSION_DENIED, "SIGNATURE_REQUIRED", "this server requires signed"
                    + " requests (require-signed-requests), which only the HTTP API carries");
            return null;
        }
        return identity.id();
    }

    /**
     * Hands each message of the call to {@code handler} once protobuf has read it. A message it
     * cannot read (a string that is not UTF-8, a broken field) goes to {@code unreadable}
     * instead, with the refusal's text; nothing of it is stored. Read here rather than by
     * Vert.x's decoder, which only resets the stream (CANCELLED) and says nothing.
     */
    private static <T> void read(GrpcServerRequest<?, ?> call, com.google.protobuf.Parser<T> parser,
                                 Handler<T> handler, Handler<String> unreadable) {
        call.messageHandler(message -> {
            if (message.format() != io.vertx.grpc.common.WireFormat.PROTOBUF) {
                unreadable.handle("messages are protobuf (application/grpc or application/grpc+proto)");
                return;
            }
            if (!"identity".equals(message.encoding())) {
                unreadable.handle("message encoding '" + message.encoding() + "' is not supported: send them"
                        + " uncompressed");
                return;
            }
            T value;
            try {
                value = parser.parseFrom(message.payload().getBytes());
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                unreadable.handle("the message is not a valid " + call.fullMethodName() + " request (strings must"
                        + " be UTF-8): " + e.getMessage());
                return;
            }
            handler.handle(value);
        });
    }

    private static void refuseUnreadable(GrpcServerResponse<?, ?> response, String message) {
        refuse(response, GrpcStatus.INVALID_ARGUMENT, "INVALID_ENCODING", message);
    }

    private static void refuse(GrpcServerResponse<?, ?> response, GrpcStatus status, String resultCode, String message) {
        response.trailers().set("mss-result-code", resultCode);
        response.status(status).statusMessage(resultCode + ": " + message).end();
    }

    /** Null when the key may push now; otherwise the refusal's message, "retryMs|message". */
    private String rateLimited(String actor) {
        if (!rateLimiter.enabled()) {
            return null;
        }
        long waitMs = rateLimiter.take(actor, System.nanoTime());
        if (waitMs <= 0) {
            return null;
        }
        return waitMs + "|key '" + actor + "' exceeds " + config.pushRateLimitPerSecond
                + " pushes per second (push-rate-limit-per-second); retry in " + waitMs + " ms";
    }

    private PushReply limitedReply(String limited) {
        int bar = limited.indexOf('|');
        engine.metrics().push("RATE_LIMITED");
        return PushReply.newBuilder().setSuccess(false).setResultCode("RATE_LIMITED").setHttpStatus(429)
                .setRetryAfterMs(Long.parseLong(limited.substring(0, bar))).setMessage(limited.substring(bar + 1)).build();
    }

    /**
     * Reads, checks and hands one push to the engine. The future never fails: every outcome,
     * refusals and store failures included, is an answer.
     *
     * @param records where a batch collects its operation records (null: record this push now)
     */
    private CompletableFuture<PushReply> submit(PushRequest request, Target target, String actor, int batchIndex,
                                                List<OperationRecord> records) {
        SyncEngine.Push push;
        CompletableFuture<SyncEngine.PushOutcome> pushed;
        try {
            boolean global = switch (target) {
                case APPOINTED -> false;
                case GLOBAL -> true;
                case BY_LINK_TOKEN -> !request.hasLinkToken();
            };
            push = parser.read(JsonBody.of(fields(request), target == Target.GLOBAL ? PushParser.GLOBAL_FIELDS
                    : PushParser.FIELDS), global, clock.millis());
            pushed = engine.push(push);
        } catch (ApiException e) {
            return CompletableFuture.completedFuture(refused(e.status(), e.resultCode(), e.getMessage()));
        } catch (SyncEngine.PushRefused e) {
            ApiException answer = ApiException.of(e);
            return CompletableFuture.completedFuture(refused(answer.status(), answer.resultCode(), answer.getMessage()));
        } catch (StoreException e) {
            log.error("store failure", e);
            return CompletableFuture.completedFuture(refused(503, "STORE_UNAVAILABLE", "not stored: " + e.getMessage()));
        }
        return pushed.handle((outcome, failure) -> {
            if (failure != null) {
                Throwable cause = unwrap(failure);
                if (cause instanceof StoreException) {
                    log.error("store failure", cause);
                    return refused(503, "STORE_UNAVAILABLE", "not stored: " + cause.getMessage());
                }
                log.error("push failed", cause);
                return refused(500, "INTERNAL_ERROR", "unexpected server error; see the server log");
            }
            engine.metrics().push(outcome.resultCode());
            OperationRecord record = recorder.draft(actor, push.linkToken() == null ? OperationRecord.Type.PUSH_GLOBAL
                    : OperationRecord.Type.PUSH, push.bizType(), PushRoutes.pushDetail(recorder, push, outcome, batchIndex));
            if (records == null) {
                recorder.recordAll(List.of(record));
            } else {
                synchronized (records) {
                    records.add(record);
                }
            }
            PushReply.Builder reply = PushReply.newBuilder().setSuccess(true).setResultCode(outcome.resultCode())
                    .setOplogId(outcome.oplogId()).setHttpStatus(200);
            if (outcome.delivered() >= 0) {
                reply.setDelivered(outcome.delivered());
            }
            return reply.build();
        });
    }

    private PushReply refused(int status, String resultCode, String message) {
        engine.metrics().push(resultCode);
        return PushReply.newBuilder().setSuccess(false).setResultCode(resultCode).setMessage(message)
                .setHttpStatus(status).build();
    }

    /**
     * The push as the HTTP API's JSON body, field for field, so that {@link PushParser} checks it
     * exactly as it checks HTTP pushes. A field the message leaves out is left out here too.
     */
    private ObjectNode fields(PushRequest request) {
        ObjectNode body = mapper.createObjectNode();
        if (!request.getBizType().isEmpty()) {
            body.put("bizType", request.getBizType());
        }
        if (request.hasLinkToken()) {
            body.put("linkToken", request.getLinkToken());
        }
        if (request.hasPayload()) {
            body.put("payload", request.getPayload());
        }
        if (request.hasThirdMsgId()) {
            body.put("thirdMsgId", request.getThirdMsgId());
        }
        if (request.hasValidTimeStart()) {
            body.put("validTimeStart", request.getValidTimeStart());
        }
        if (request.hasValidTimeEnd()) {
            body.put("validTimeEnd", request.getValidTimeEnd());
        }
        if (request.getOsTypeCount() > 0) {
            ArrayNode osTypes = body.putArray("osType");
            request.getOsTypeList().forEach(osTypes::add);
        }
        if (request.hasAppMinVersion()) {
            body.put("appMinVersion", request.getAppMinVersion());
        }
        if (request.hasAppMaxVersion()) {
            body.put("appMaxVersion", request.getAppMaxVersion());
        }
        if (request.getUidListCount() > 0) {
            ArrayNode uids = body.putArray("uidList");
            request.getUidListList().forEach(uids::add);
        }
        if (request.hasUidRange()) {
            ObjectNode range = body.putObject("uidRange");
            if (request.getUidRange().hasFrom()) {
                range.put("from", request.getUidRange().getFrom());
            }
            if (request.getUidRange().hasTo()) {
                range.put("to", request.getUidRange().getTo());
            }
        }
        return body;
    }

    private static Throwable unwrap(Throwable failure) {
        Throwable cause = failure;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    private static <Req, Resp extends com.google.protobuf.MessageLite> ServiceMethod<Req, Resp> method(
            String name, com.google.protobuf.Message.Builder prototype) {
        GrpcMessageEncoder<Resp> encoder = GrpcMessageEncoder.encoder();
        GrpcMessageDecoder<Req> decoder = GrpcMessageDecoder.decoder(prototype);
        return ServiceMethod.server(SERVICE, name, encoder, decoder);
    }
}
