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
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
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
import java.util.concurrent.Executor;

/**
 * The push API over gRPC ({@code mss_push.proto}, service {@code mss.push.v1.PushService}): the
 * same pushes as {@code POST /api/v1/push}, {@code /push/global} and {@code /push/batch}, read by
 * the same {@link PushParser}, so validation, limits and result codes are the HTTP API's, plus a
 * bidirectional stream of pushes answered in order.
 *
 * <p>Who may call: the API key in the metadata ({@code authorization: Bearer <key>}), any role
 * (every method is a push). A call without a valid key ends with {@code UNAUTHENTICATED} from its
 * headers, before Vert.x reads a byte of its messages, and its stream is reset. Refusals of one
 * push are answers ({@code success false} and the HTTP API's resultCode), never a failed call, so
 * that a stream goes on after a bad push.
 *
 * <p>Threads: every handler runs on the event loop of the request's HTTP/2 connection. The
 * engine's futures complete on the store's commit thread; their answers (and operation records)
 * hop back onto the request's context first, so that thread goes straight on committing. A
 * push naming a bizType this node has not cached is read and checked on a worker, as on HTTP.
 */
public final class GrpcPushService {
    private static final Logger log = LoggerFactory.getLogger(GrpcPushService.class);

    public static final ServiceName SERVICE = ServiceName.create("mss.push.v1", "PushService");
    /** Requests whose path starts so go to this service (HTTP/2 only); every other one is JSON. */
    public static final String PATH_PREFIX = "/" + SERVICE.fullyQualifiedName() + "/";
    /** Pushes of one stream in the engine at once; above this the stream's reading pauses. */
    static final int STREAM_IN_FLIGHT = 1_024;
    /** Reading resumes when this few are left. */
    static final int STREAM_RESUME_AT = STREAM_IN_FLIGHT / 2;
    /** HTTP/2's NO_ERROR: a refused call's stream is reset so that nothing more of it is read. */
    private static final long NO_ERROR = 0;

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

    /** Whether a request is for this service: gRPC needs HTTP/2, and has its own paths. */
    public static boolean isFor(HttpServerRequest request) {
        return request.version() == io.vertx.core.http.HttpVersion.HTTP_2 && request.path().startsWith(PATH_PREFIX);
    }

    /**
     * The handler for the requests {@link #isFor} this service: a call's key is checked from its
     * headers first; only then does Vert.x's gRPC server read its messages (plain gRPC over HTTP/2,
     * protobuf, at most the batch body limit a message).
     */
    public Handler<HttpServerRequest> handler(Vertx vertx) {
        GrpcServerOptions options = new GrpcServerOptions()
                .setMaxMessageSize(HttpApi.LARGE_REQUEST_BYTES);
        for (GrpcProtocol protocol : GrpcProtocol.values()) {
            if (protocol != GrpcProtocol.HTTP_2) {
                options.removeEnabledProtocol(protocol);
            }
        }
        GrpcServer server = GrpcServer.server(vertx, options);
        server.callHandler(PUSH, call -> unary(call, Target.APPOINTED, config.maxRequestBytes));
        server.callHandler(PUSH_GLOBAL, call -> unary(call, Target.GLOBAL, HttpApi.LARGE_REQUEST_BYTES));
        server.callHandler(PUSH_BATCH, this::batch);
        server.callHandler(PUSH_STREAM, this::stream);
        return request -> {
            Refusal refusal = admission(request.getHeader("authorization"));
            if (refusal != null) {
                // trailers only, then a reset: the caller's messages are never buffered
                request.pause();
                HttpServerResponse response = request.response();
                response.putHeader("content-type", "application/grpc")
                        .putHeader("grpc-status", Integer.toString(refusal.status().code))
                        .putHeader("grpc-message", refusal.resultCode() + ": " + refusal.message())
                        .putHeader("mss-result-code", refusal.resultCode());
                response.end().onComplete(done -> response.reset(NO_ERROR));
                return;
            }
            server.handle(request);
        };
    }

    /** Why a call may not push. */
    private record Refusal(GrpcStatus status, String resultCode, String message) {
    }

    /** Null when the key may push; otherwise why not. */
    private Refusal admission(String authorization) {
        if (authorization == null || !authorization.startsWith("Bearer ")) {
            return new Refusal(GrpcStatus.UNAUTHENTICATED, "UNAUTHORIZED",
                    "missing 'authorization: Bearer <MSS_API_KEY>' metadata");
        }
        if (actor(authorization) == null) {
            return new Refusal(GrpcStatus.UNAUTHENTICATED, "UNAUTHORIZED", "invalid API key");
        }
        if (config.requireSignedRequests) {
            // the signature covers an HTTP request's target and body; a gRPC call has neither
            return new Refusal(GrpcStatus.PERMISSION_DENIED, "SIGNATURE_REQUIRED", "this server requires signed"
                    + " requests (require-signed-requests), which only the HTTP API carries");
        }
        return null;
    }

    /** The id of the call's key (the actor of its operation records), or null when it has none. */
    private String actor(String authorization) {
        if (authorization == null || !authorization.startsWith("Bearer ")) {
            return null;
        }
        String presented = authorization.substring("Bearer ".length()).trim();
        ApiKeys.Identity identity = presented.isEmpty() ? null : apiKeys.authenticate(presented);
        return identity == null ? null : identity.id();
    }

    /**
     * Push and PushGlobal: one message in, one answer out. A call that sends no message, or more
     * than one, is refused; one that has not sent its message within {@code http-body-timeout-ms}
     * ends with DEADLINE_EXCEEDED, as an HTTP body that takes too long gets 408.
     */
    private void unary(GrpcServerRequest<PushRequest, PushReply> call, Target target, int maxBytes) {
        String actor = actor(call.headers().get("authorization"));
        Context context = Vertx.currentContext();
        OneMessage<PushRequest, PushReply> one = new OneMessage<>(call, context);
        read(call, PushRequest.parser(), maxBytes, request -> {
            if (!one.take()) {
                return;
            }
            // pushes, like HTTP requests, are rate limited per call: a batch is one
            PushReply limited = rateLimited(actor);
            CompletableFuture<PushReply> reply = limited != null ? CompletableFuture.completedFuture(limited)
                    : submit(request, target, actor, -1, null, context);
            reply.whenComplete((answer, failure) -> context.runOnContext(v -> one.answer(answer)));
        }, one::unreadable);
    }

    /** The state of a unary call; its request's context only. */
    private final class OneMessage<Req, Resp> {
        private final GrpcServerRequest<Req, Resp> call;
        private final Context context;
        private final long deadline;
        private boolean received;
        private boolean done;

        OneMessage(GrpcServerRequest<Req, Resp> call, Context context) {
            this.call = call;
            this.context = context;
            deadline = context.owner().setTimer(config.httpBodyTimeoutMs, id -> {
                if (!received) {
                    refuseCall(GrpcStatus.DEADLINE_EXCEEDED, "REQUEST_TIMEOUT", "no complete message within "
                            + config.httpBodyTimeoutMs + " ms (http-body-timeout-ms)");
                }
            });
            call.errorHandler(error -> finish()); // cancelled by the caller: nothing more to write
            call.endHandler(v -> {
                if (!received) {
                    refuseCall(GrpcStatus.INVALID_ARGUMENT, "INVALID_REQUEST", "the call ended without its message");
                }
            });
        }

        /** True for the call's first message; a second one refuses the call. */
        boolean take() {
            if (done) {
                return false;
            }
            if (received) {
                refuseCall(GrpcStatus.INVALID_ARGUMENT, "INVALID_REQUEST", "a unary call takes one message");
                return false;
            }
            received = true;
            context.owner().cancelTimer(deadline);
            return true;
        }

        void answer(Resp answer) {
            if (!done) {
                finish();
                call.response().send(answer);
            }
        }

        void unreadable(String resultCode, String message) {
            refuseCall(status(resultCode), resultCode, message);
        }

        private void refuseCall(GrpcStatus status, String resultCode, String message) {
            if (!done) {
                finish();
                call.pause();
                refuse(call.response(), status, resultCode, message);
            }
        }

        private void finish() {
            done = true;
            context.owner().cancelTimer(deadline);
        }
    }

    private void batch(GrpcServerRequest<PushBatchRequest, PushBatchReply> call) {
        String actor = actor(call.headers().get("authorization"));
        Context context = Vertx.currentContext();
        OneMessage<PushBatchRequest, PushBatchReply> one = new OneMessage<>(call, context);
        read(call, PushBatchRequest.parser(), HttpApi.LARGE_REQUEST_BYTES, request -> {
            if (!one.take()) {
                return;
            }
            PushReply limited = rateLimited(actor);
            if (limited != null) {
                one.answer(PushBatchReply.newBuilder().setSuccess(false).setResultCode(limited.getResultCode())
                        .setMessage(limited.getMessage()).setHttpStatus(limited.getHttpStatus())
                        .setRetryAfterMs(limited.getRetryAfterMs()).build());
                return;
            }
            int count = request.getOrdersCount();
            ApiException refused = !request.getUnknownFields().asMap().isEmpty() ? unknownFields(request.getUnknownFields())
                    : count == 0 ? ApiException.invalid("'orders' is empty: send 1 to " + PushRoutes.MAX_BATCH_ORDERS
                    + " pushes")
                    : count > PushRoutes.MAX_BATCH_ORDERS ? new ApiException(400, "BATCH_TOO_LARGE", "'orders' has "
                    + count + " pushes; at most " + PushRoutes.MAX_BATCH_ORDERS + " are allowed per batch")
                    : null;
            if (refused != null) {
                engine.metrics().push(refused.resultCode());
                one.answer(PushBatchReply.newBuilder().setSuccess(false).setResultCode(refused.resultCode())
                        .setMessage(refused.getMessage()).setHttpStatus(refused.status()).build());
                return;
            }
            // every order reaches the engine, in order, before any is waited for: they share group
            // commits; when one names a bizType this node has not cached, all go from a worker
            List<OperationRecord> records = new ArrayList<>();
            @SuppressWarnings("unchecked")
            CompletableFuture<PushReply>[] replies = new CompletableFuture[count];
            boolean allKnown = request.getOrdersList().stream()
                    .allMatch(o -> o.getBizType().isEmpty() || engine.knowsBizType(o.getBizType()));
            java.util.concurrent.Callable<Void> enter = () -> {
                for (int i = 0; i < count; i++) {
                    replies[i] = submitNow(request.getOrders(i), Target.BY_LINK_TOKEN, actor, i, records, context);
                }
                return null;
            };
            CompletableFuture<Void> handedOver = new CompletableFuture<>();
            if (allKnown) {
                try {
                    enter.call();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                handedOver.complete(null);
            } else {
                context.executeBlocking(enter, false).onComplete(done -> handedOver.complete(null));
            }
            handedOver.thenCompose(v -> CompletableFuture.allOf(replies)).whenComplete((ignored, failure) -> context.runOnContext(v -> {
                synchronized (records) {
                    recorder.recordAll(records);
                }
                PushBatchReply.Builder answer = PushBatchReply.newBuilder().setSuccess(true).setResultCode("OK")
                        .setHttpStatus(200);
                int accepted = 0;
                for (CompletableFuture<PushReply> reply : replies) {
                    PushReply result = reply.join(); // submit's futures never fail: failures are answers
                    answer.addResults(result);
                    if (result.getSuccess()) {
                        accepted++;
                    }
                }
                one.answer(answer.setAccepted(accepted).setFailed(count - accepted).build());
            }));
        }, one::unreadable);
    }

    /**
     * A stream of pushes: each answered in the order it came, whatever order the store commits
     * them in. At most {@link #STREAM_IN_FLIGHT} wait for the store; then reading pauses, so a
     * client faster than the disk is slowed by HTTP/2 flow control, not buffered here.
     */
    private void stream(GrpcServerRequest<PushRequest, PushReply> call) {
        new PushStream(call, actor(call.headers().get("authorization")), Vertx.currentContext()).start();
    }

    /** One push stream's state; owned by the request's context (its event loop). */
    private final class PushStream {
        private final GrpcServerRequest<PushRequest, PushReply> call;
        private final String actor;
        private final Context context;
        private final ArrayDeque<CompletableFuture<PushReply>> pending = new ArrayDeque<>();
        /**
         * Completes when every push read so far has been handed to the engine. A push whose
         * bizType must first be read from the store (on a worker) holds the ones behind it, so
         * that they reach the engine, and get their ids, in the order they were sent.
         */
        private CompletableFuture<Void> entered = CompletableFuture.completedFuture(null);
        private boolean paused;
        private boolean ended;
        private boolean closed;
        /** Why reading stopped: answered once every push before it is. */
        private Refusal unreadable;

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
            call.errorHandler(error -> closed = true); // cancelled or reset by the caller
            call.endHandler(v -> {
                ended = true;
                flush();
            });
            read(call, PushRequest.parser(), config.maxRequestBytes, request -> {
                if (unreadable != null || closed) {
                    return; // the stream is being ended; what follows the bad message is not read
                }
                PushReply limited = rateLimited(actor);
                CompletableFuture<PushReply> reply = limited != null
                        ? CompletableFuture.completedFuture(limited) : inOrder(request);
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
            }, (resultCode, message) -> {
                if (unreadable == null) {
                    unreadable = new Refusal(status(resultCode), resultCode, message);
                    call.pause();
                    flush();
                }
            });
        }

        /** Hands the push to the engine now, or once every push before it is there. */
        private CompletableFuture<PushReply> inOrder(PushRequest request) {
            boolean known = request.getBizType().isEmpty() || engine.knowsBizType(request.getBizType());
            if (known && entered.isDone()) {
                return submitNow(request, Target.BY_LINK_TOKEN, actor, -1, null, context);
            }
            CompletableFuture<PushReply> reply = new CompletableFuture<>();
            CompletableFuture<Void> before = entered;
            CompletableFuture<Void> mine = new CompletableFuture<>();
            entered = mine;
            before.whenComplete((v, e) -> context.runOnContext(x -> {
                submit(request, Target.BY_LINK_TOKEN, actor, -1, null, context, mine).whenComplete((answer, f) ->
                        reply.complete(answer));
            }));
            return reply;
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
                    refuse(response, unreadable.status(), unreadable.resultCode(), unreadable.message());
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

    /** What a message that cannot be read is answered with. */
    @FunctionalInterface
    private interface Unreadable {
        void refuse(String resultCode, String message);
    }

    /**
     * Hands each message of the call to {@code handler} once protobuf has read it. A message it
     * cannot read (a string that is not UTF-8, a broken field), one above {@code maxBytes}, one
     * Vert.x refused itself (above the largest message) goes to {@code unreadable} instead; nothing
     * of it is stored. Read here rather than by Vert.x's decoder, which only resets the stream
     * (CANCELLED) and says nothing.
     */
    private static <T> void read(GrpcServerRequest<?, ?> call, com.google.protobuf.Parser<T> parser, int maxBytes,
                                 Handler<T> handler, Unreadable unreadable) {
        call.invalidMessageHandler(e -> {
            if (e instanceof io.vertx.grpc.common.MessageSizeOverflowException) {
                unreadable.refuse("REQUEST_TOO_LARGE", "a message exceeds " + maxBytes + " bytes");
            } else {
                unreadable.refuse("INVALID_ENCODING", "the message cannot be read: " + e.getMessage());
            }
        });
        call.messageHandler(message -> {
            if (message.format() != io.vertx.grpc.common.WireFormat.PROTOBUF) {
                unreadable.refuse("INVALID_ENCODING", "messages are protobuf (application/grpc or application/grpc+proto)");
                return;
            }
            if (!"identity".equals(message.encoding())) {
                unreadable.refuse("INVALID_ENCODING", "message encoding '" + message.encoding() + "' is not"
                        + " supported: send them uncompressed");
                return;
            }
            if (message.payload().length() > maxBytes) {
                unreadable.refuse("REQUEST_TOO_LARGE", "a " + call.methodName() + " message may have at most "
                        + maxBytes + " bytes; this one has " + message.payload().length());
                return;
            }
            T value;
            try {
                value = parser.parseFrom(message.payload().getBytes());
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                unreadable.refuse("INVALID_ENCODING", "the message is not a valid " + call.fullMethodName()
                        + " request (strings must be UTF-8): " + e.getMessage());
                return;
            }
            handler.handle(value);
        });
    }

    private static GrpcStatus status(String resultCode) {
        return "REQUEST_TOO_LARGE".equals(resultCode) ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INVALID_ARGUMENT;
    }

    private static void refuse(GrpcServerResponse<?, ?> response, GrpcStatus status, String resultCode, String message) {
        response.trailers().set("mss-result-code", resultCode);
        response.status(status).statusMessage(resultCode + ": " + message).end();
    }

    private static ApiException unknownFields(com.google.protobuf.UnknownFieldSet fields) {
        // as the HTTP API refuses a field it does not know, never drops it
        return ApiException.invalid("unknown field number(s) " + fields.asMap().keySet()
                + " in the message; see mss_push.proto");
    }

    /** Null when the key may push now; otherwise the RATE_LIMITED answer, with when to retry. */
    private PushReply rateLimited(String actor) {
        if (!rateLimiter.enabled()) {
            return null;
        }
        long waitMs = rateLimiter.take(actor, System.nanoTime());
        if (waitMs <= 0) {
            return null;
        }
        engine.metrics().push("RATE_LIMITED");
        return PushReply.newBuilder().setSuccess(false).setResultCode("RATE_LIMITED").setHttpStatus(429)
                .setRetryAfterMs(waitMs).setMessage("key '" + actor + "' exceeds " + config.pushRateLimitPerSecond
                        + " pushes per second (push-rate-limit-per-second); retry in " + waitMs + " ms").build();
    }

    /**
     * Reads, checks and hands one push to the engine. The future never fails: every outcome,
     * refusals and store failures included, is an answer; it completes on {@code context}.
     *
     * @param records where a batch collects its operation records (null: record this push now)
     */
    private CompletableFuture<PushReply> submit(PushRequest request, Target target, String actor, int batchIndex,
                                                List<OperationRecord> records, Context context) {
        return submit(request, target, actor, batchIndex, records, context, new CompletableFuture<>());
    }

    /** @param entered completed once the push has been handed to the engine (or refused before) */
    private CompletableFuture<PushReply> submit(PushRequest request, Target target, String actor, int batchIndex,
                                                List<OperationRecord> records, Context context,
                                                CompletableFuture<Void> entered) {
        if (request.getBizType().isEmpty() || engine.knowsBizType(request.getBizType())) {
            CompletableFuture<PushReply> reply = submitNow(request, target, actor, batchIndex, records, context);
            entered.complete(null);
            return reply;
        }
        // the engine reads an id it has not cached from the store: not on the event loop
        CompletableFuture<PushReply> reply = new CompletableFuture<>();
        context.<CompletableFuture<PushReply>>executeBlocking(
                        () -> submitNow(request, target, actor, batchIndex, records, context), false)
                .onComplete(done -> {
                    entered.complete(null);
                    if (done.succeeded()) {
                        done.result().whenComplete((answer, failure) -> reply.complete(answer));
                    } else {
                        log.error("push failed", done.cause());
                        reply.complete(refused(500, "INTERNAL_ERROR", "unexpected server error; see the server log"));
                    }
                });
        return reply;
    }

    private CompletableFuture<PushReply> submitNow(PushRequest request, Target target, String actor, int batchIndex,
                                                   List<OperationRecord> records, Context context) {
        SyncEngine.Push push;
        CompletableFuture<SyncEngine.PushOutcome> pushed;
        try {
            if (!request.getUnknownFields().asMap().isEmpty()
                    || !request.getUidRange().getUnknownFields().asMap().isEmpty()) {
                throw unknownFields(request.getUnknownFields().asMap().isEmpty()
                        ? request.getUidRange().getUnknownFields() : request.getUnknownFields());
            }
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
        } catch (RuntimeException e) {
            // an answer all the same: a stream pairs the n-th reply with the n-th push
            log.error("push failed", e);
            return CompletableFuture.completedFuture(refused(500, "INTERNAL_ERROR",
                    "unexpected server error; see the server log"));
        }
        // answered and recorded on the request's context: the store's commit thread goes on committing
        Executor onContext = task -> context.runOnContext(v -> task.run());
        return pushed.handleAsync((outcome, failure) -> {
            try {
                return answer(push, outcome, failure, actor, batchIndex, records);
            } catch (RuntimeException e) {
                log.error("push answer failed", e);
                return refused(500, "INTERNAL_ERROR", "unexpected server error; see the server log");
            }
        }, onContext);
    }

    private PushReply answer(SyncEngine.Push push, SyncEngine.PushOutcome outcome, Throwable failure, String actor,
                             int batchIndex, List<OperationRecord> records) {
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
