package io.mss.server.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.util.List;
import java.util.Locale;

/**
 * Reads request bodies without holding a thread: chunks are collected on the connection's
 * event loop up to the route's limit, within a deadline from the headers on. A body announced
 * larger than the limit is refused before any of it is read; a body that does not arrive in
 * time is answered 408. Either way the connection is closed, since the rest of that body would
 * otherwise be taken for the next request.
 *
 * <p>Also the framing checks Netty leaves to the application: the only transfer coding taken
 * is {@code chunked}, and bodies are taken only without a content coding. (Netty itself refuses
 * a bad or doubled Content-Length, and chunked together with a Content-Length, through
 * {@link HttpApi}'s invalid-request handler.)
 */
final class BodyReader {
    /** The body's bytes, on the routing context, once read. */
    static final String BODY = "mss.body";
    private static final byte[] EMPTY = new byte[0];
    /** A body is collected into a buffer of its announced size, or of this to start with. */
    /** What a body's buffer starts at, whatever length it announces. */
    private static final int INITIAL_BYTES = 16 * 1024;

    private final Vertx vertx;
    private final long timeoutMs;

    BodyReader(Vertx vertx, long timeoutMs) {
        this.vertx = vertx;
        this.timeoutMs = timeoutMs;
    }

    /**
     * Checked for every request before routing. Answers and returns false when the request's
     * framing or coding is one the API does not take.
     */
    static boolean framingAccepted(HttpServerRequest request, ObjectMapper mapper) {
        List<String> codings = request.headers().getAll("Transfer-Encoding");
        if (!codings.isEmpty() && !(codings.size() == 1 && codings.get(0).trim().equalsIgnoreCase("chunked"))) {
            // gzip, chunked and the like: a body this API would have to decode, and whose end
            // it cannot be sure of
            answerAndClose(request, 400, JsonAnswers.errorBytes(mapper, "UNSUPPORTED_TRANSFER_CODING",
                    "Transfer-Encoding " + String.join(", ", codings) + " is not supported: send the body with"
                            + " Content-Length or Transfer-Encoding: chunked only"));
            return false;
        }
        String coding = request.getHeader("Content-Encoding");
        if (coding != null && !coding.trim().toLowerCase(Locale.ROOT).equals("identity")) {
            answerAndClose(request, 415, JsonAnswers.errorBytes(mapper, "UNSUPPORTED_CONTENT_ENCODING",
                    "Content-Encoding " + coding + " is not supported: send the body uncompressed"));
            return false;
        }
        return true;
    }

    /**
     * Reads the body into {@link #BODY}, then continues the route; answers 413 (too large) or
     * 408 (too slow) and closes the connection instead. Runs on the request's event loop; the
     * callbacks below come on that loop too, one at a time.
     */
    void read(RoutingContext ctx, int limit, ObjectMapper mapper) {
        HttpServerRequest request = ctx.request();
        if (!announcesBody(request)) {
            ctx.put(BODY, EMPTY);
            ctx.next();
            return;
        }
        long announced = contentLength(request);
        if (announced > limit) {
            throw tooLarge(limit); // at once: not a byte of it is waited for
        }
        if ("100-continue".equalsIgnoreCase(request.getHeader("Expect"))) {
            ctx.response().writeContinue();
        }
        // grown as bytes arrive: an announced length reserves nothing before its bytes come
        Buffer body = Buffer.buffer((int) Math.min(announced >= 0 ? announced : limit, INITIAL_BYTES));
        Reading reading = new Reading();
        reading.timer = vertx.setTimer(timeoutMs, id -> {
            if (reading.finish()) {
                answerAndClose(request, 408, JsonAnswers.errorBytes(mapper, "REQUEST_TIMEOUT", "the request body did"
                        + " not arrive within " + timeoutMs + " ms (http-body-timeout-ms)"));
            }
        });
        request.handler(chunk -> {
            if (reading.done) {
                return;
            }
            if (body.length() + chunk.length() > limit) {
                if (reading.finish()) {
                    vertx.cancelTimer(reading.timer);
                    answerAndClose(request, 413, JsonAnswers.errorBytes(mapper, "REQUEST_TOO_LARGE",
                            tooLarge(limit).getMessage()));
                }
                return;
            }
            body.appendBuffer(chunk);
        });
        request.exceptionHandler(failure -> {
            if (reading.finish()) {
                vertx.cancelTimer(reading.timer); // the connection broke: nobody to answer
            }
        });
        request.endHandler(end -> {
            if (reading.finish()) {
                vertx.cancelTimer(reading.timer);
                ctx.put(BODY, body.getBytes());
                ctx.next();
            }
        });
    }

    /** One body being read; touched on its connection's event loop only. */
    private static final class Reading {
        boolean done;
        long timer;

        /** True for the first of end, deadline, overflow and failure: only that one acts. */
        boolean finish() {
            if (done) {
                return false;
            }
            done = true;
            return true;
        }
    }

    static ApiException tooLarge(int limit) {
        return new ApiException(413, "REQUEST_TOO_LARGE", "request body exceeds " + limit + " bytes");
    }

    /** Whether the request said it has a body: HTTP/1 by its headers, HTTP/2 by a stream not yet ended. */
    private static boolean announcesBody(HttpServerRequest request) {
        if (HttpApi.http2(request)) {
            return !request.isEnded();
        }
        return request.headers().contains("Transfer-Encoding") || contentLength(request) > 0;
    }

    /** The Content-Length Netty already checked (one number, no sign), or -1. */
    private static long contentLength(HttpServerRequest request) {
        String value = request.getHeader("Content-Length");
        if (value == null) {
            return -1;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE; // more than any limit
        }
    }

    /**
     * Ends the answer; when the request's body was announced and not read, the connection is
     * closed after it (HTTP/1: that body's bytes cannot be told from the next request's).
     */
    static void end(HttpServerRequest request, HttpServerResponse response, byte[] bytes) {
        boolean unread = !HttpApi.http2(request) && announcesBody(request) && !request.isEnded();
        if (unread) {
            response.putHeader("Connection", "close");
        }
        response.end(Buffer.buffer(bytes)).onComplete(done -> {
            if (unread) {
                request.connection().close();
            }
        });
    }

    /** A JSON answer written before or instead of routing, then the connection closed (HTTP/1). */
    static void answerAndClose(HttpServerRequest request, int status, byte[] bytes) {
        HttpServerResponse response = request.response();
        if (response.ended() || response.closed()) {
            return;
        }
        response.setStatusCode(status).putHeader("Content-Type", "application/json");
        if (HttpApi.http2(request)) {
            // this stream only (the connection carries others); reset, so the rest of its body stops coming
            response.end(Buffer.buffer(bytes)).onComplete(done -> response.reset(0));
            return;
        }
        response.putHeader("Connection", "close");
        response.end(Buffer.buffer(bytes)).onComplete(done -> request.connection().close());
    }
}
