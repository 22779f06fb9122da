package io.mss.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Where the HTTP API is and the key to use. */
final class ApiOptions {
    @Mixin
    DataDirOption data;

    @Option(names = "--api", defaultValue = "${MSS_API_URL:-http://localhost:7080}",
            description = "HTTP API base URL (default: ${DEFAULT-VALUE}).")
    String url;

    @Option(names = "--sign", defaultValue = "${MSS_SIGN_REQUESTS:-false}",
            description = "Sign requests with HMAC-SHA256 (X-MSS-Timestamp, X-MSS-Signature); also MSS_SIGN_REQUESTS=true.")
    boolean sign;

    @Option(names = "--ca", description = "PEM certificate to trust for an https:// --api (default: for a local"
            + " server <data-dir>/tls/server.crt when it exists, otherwise the system's trust store).")
    java.nio.file.Path ca;

    @Option(names = "--insecure", description = "Do not verify the API's certificate (https://, development only).")
    boolean insecure;

    ApiClient client() {
        // the certificate a local server generated into the data dir; a remote one is checked as any site is
        String host = java.net.URI.create(url).getHost();
        boolean local = host != null && java.util.List.of("localhost", "127.0.0.1", "[::1]", "::1").contains(host);
        java.nio.file.Path trusted = ca != null ? ca : local ? data.dataDir.resolve("tls").resolve("server.crt") : null;
        if (ca != null && !java.nio.file.Files.exists(ca)) {
            throw new io.mss.server.config.ServerConfig.ConfigException("--ca " + ca + " does not exist");
        }
        return new ApiClient(url, data.apiKey(), sign, ApiClient.trust(trusted != null
                && java.nio.file.Files.exists(trusted) ? trusted : null, insecure));
    }
}
