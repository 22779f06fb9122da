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

    ApiClient client() {
        return new ApiClient(url, data.apiKey(), sign);
    }
}
