package io.mss.server.api;

import io.vertx.ext.web.RoutingContext;
import io.mss.server.metrics.MssMetrics;
import io.vertx.core.buffer.Buffer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;

/**
 * What operators and their tools read besides the business API: {@code /metrics} for
 * Prometheus, {@code /api/v1/stats} and its history for the console's overview, the OpenAPI document and its
 * Swagger UI, and stable paths to the console's WebJar libraries (versions from the jars).
 */
final class ConsoleRoutes {
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final MssMetrics metrics;
    private final StatsHistory history;
    private final byte[] openApi;
    private final String swaggerPage;
    private final String uplotVersion;
    private final byte[] indexPage;

    ConsoleRoutes(MssMetrics metrics, StatsHistory history) {
        this.metrics = metrics;
        this.history = history;
        this.openApi = resource("/openapi.yaml");
        this.indexPage = resource("/console/index.html");
        this.uplotVersion = webJarVersion("org.webjars.npm", "uplot");
        this.swaggerPage = new String(resource("/swagger.html"), StandardCharsets.UTF_8)
                .replace("{{swagger-ui}}", "/webjars/swagger-ui/" + webJarVersion("org.webjars", "swagger-ui"));
    }

    void metrics(RoutingContext ctx) {
        ctx.response().putHeader("Content-Type", PROMETHEUS_TEXT).end(metrics.scrape());
    }

    void stats(RoutingContext ctx) {
        JsonAnswers.ok(ctx, Map.of("stats", metrics.snapshot()));
    }

    /** {@code ?since=} epoch ms: only the samples after it, for a console that already has the rest. */
    void statsHistory(RoutingContext ctx) {
        long since;
        try {
            since = Long.parseLong(java.util.Objects.requireNonNullElse(HttpApi.query(ctx, "since"), "0"));
        } catch (NumberFormatException e) {
            throw ApiException.invalid("'since' must be epoch milliseconds");
        }
        JsonAnswers.ok(ctx, Map.of("periodMs", StatsHistory.PERIOD_MS, "samples", history.since(since)));
    }

    /** {@code GET /}: the console is what a browser pointed at the HTTP port is looking for. */
    void root(RoutingContext ctx) {
        ctx.redirect("/console/");
    }

    /** Browsers ask every page's host for {@code /favicon.ico}; the console's icon answers. */
    void favicon(RoutingContext ctx) {
        ctx.redirect("/console/favicon.svg");
    }

    void openApi(RoutingContext ctx) {
        ctx.response().putHeader("Content-Type", "application/yaml; charset=utf-8").end(Buffer.buffer(openApi));
    }

    /** {@code /console/} is the console; {@code /console} redirects there, so its relative links resolve. */
    void index(RoutingContext ctx) {
        if (ctx.request().path().endsWith("/")) {
            ctx.response().putHeader("Content-Type", "text/html; charset=utf-8").end(Buffer.buffer(indexPage));
        } else {
            ctx.redirect("/console/");
        }
    }

    void swagger(RoutingContext ctx) {
        ctx.response().putHeader("Content-Type", "text/html; charset=utf-8").end(swaggerPage);
    }

    /** {@code /console/lib/uplot.js} and {@code .css}: the console's pages name no library version. */
    void uplot(RoutingContext ctx) {
        String file = switch (ctx.pathParam("file")) {
            case "uplot.js" -> "uPlot.iife.min.js";
            case "uplot.css" -> "uPlot.min.css";
            default -> throw new ApiException(404, "NOT_FOUND", "no such library file: " + ctx.pathParam("file"));
        };
        ctx.redirect("/webjars/uplot/" + uplotVersion + "/dist/" + file);
    }

    private static byte[] resource(String path) {
        try (InputStream in = ConsoleRoutes.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException(path + " is missing from the server's jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String webJarVersion(String groupId, String artifactId) {
        Properties pom = new Properties();
        try (InputStream in = ConsoleRoutes.class.getResourceAsStream(
                "/META-INF/maven/" + groupId + "/" + artifactId + "/pom.properties")) {
            if (in == null) {
                throw new IllegalStateException("the WebJar " + groupId + ":" + artifactId + " is not on the classpath");
            }
            pom.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return pom.getProperty("version");
    }
}
