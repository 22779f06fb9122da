package io.mss.server.api;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * Static files from the server's jar: the console's pages ({@code /console/...} from
 * {@code console/}) and its libraries ({@code /webjars/...} from the WebJars). Only the
 * classpath is looked at, never the working directory. Runs on a worker: a read from a jar
 * is a read from disk.
 */
final class ClasspathFiles implements Handler<RoutingContext> {
    private static final Map<String, String> TYPES = Map.ofEntries(
            Map.entry("html", "text/html; charset=utf-8"),
            Map.entry("js", "text/javascript; charset=utf-8"),
            Map.entry("mjs", "text/javascript; charset=utf-8"),
            Map.entry("css", "text/css; charset=utf-8"),
            Map.entry("json", "application/json"),
            Map.entry("map", "application/json"),
            Map.entry("svg", "image/svg+xml"),
            Map.entry("png", "image/png"),
            Map.entry("ico", "image/x-icon"),
            Map.entry("woff2", "font/woff2"),
            Map.entry("txt", "text/plain; charset=utf-8"));

    private final String root;

    /** @param root the classpath folder, with its trailing slash */
    ClasspathFiles(String root) {
        this.root = root;
    }

    @Override
    public void handle(RoutingContext ctx) {
        // the path below the route's mount point, dot segments already removed by the router
        String path = ctx.pathParam("*");
        if (path == null || path.isEmpty() || path.endsWith("/") || path.contains("..") || path.contains("\\")) {
            ctx.next(); // a folder, or nothing: the 404 handler answers
            return;
        }
        byte[] bytes;
        try (InputStream in = ClasspathFiles.class.getClassLoader().getResourceAsStream(root + path)) {
            if (in == null) {
                ctx.next();
                return;
            }
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int dot = path.lastIndexOf('.');
        String type = TYPES.getOrDefault(dot < 0 ? "" : path.substring(dot + 1), "application/octet-stream");
        ctx.response().putHeader("Content-Type", type).end(Buffer.buffer(bytes));
    }
}
