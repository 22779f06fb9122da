package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A business backend for webhook tests: the JDK's HTTP server on an ephemeral loopback port.
 * Records every JSON request per path; a handler answers each, or {@link #HANG}s until
 * {@link #release()} (or the test ends).
 */
final class FakeBackend implements AutoCloseable {
    /** What the backend answers. */
    record Reply(int status, String body) {
        static Reply json(String body) {
            return new Reply(200, body);
        }
    }

    /** Answers only after {@link #release()}: a backend too slow for the server's timeout. */
    static final Reply HANG = new Reply(200, "{}");

    record Call(String path, JsonNode body) {
    }

    private final HttpServer http;
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final CountDownLatch released = new CountDownLatch(1);
    final List<Call> calls = new CopyOnWriteArrayList<>();

    FakeBackend() {
        try {
            http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        http.setExecutor(pool);
        http.start();
    }

    /** Answers POSTs to {@code path} with {@code handler}, given the request's JSON. */
    FakeBackend on(String path, Function<JsonNode, Reply> handler) {
        http.createContext(path, exchange -> handle(exchange, path, handler));
        return this;
    }

    private void handle(HttpExchange exchange, String path, Function<JsonNode, Reply> handler) throws IOException {
        try (exchange) {
            JsonNode body = Api.JSON.readTree(exchange.getRequestBody().readAllBytes());
            calls.add(new Call(path, body));
            Reply reply = handler.apply(body);
            if (reply == HANG) {
                try {
                    released.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(reply.status(), bytes.length == 0 ? -1 : bytes.length);
            if (bytes.length > 0) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            }
        } catch (IOException e) {
            // the server gave up on us (its timeout): nothing to answer
        }
    }

    String url(String path) {
        return "http://127.0.0.1:" + http.getAddress().getPort() + path;
    }

    /** The request bodies received on {@code path}, oldest first. */
    List<JsonNode> calls(String path) {
        return calls.stream().filter(c -> c.path().equals(path)).map(Call::body).toList();
    }

    /** Lets every hanging request answer. */
    void release() {
        released.countDown();
    }

    /** A URL on which nothing listens. */
    static String unreachableUrl(String path) {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return "http://127.0.0.1:" + socket.getLocalPort() + path;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        release();
        http.stop(0);
        pool.shutdownNow();
    }
}
