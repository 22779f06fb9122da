package io.mss.server.cluster;

/**
 * One node as it announces itself.
 *
 * @param syncAddress     host:port of its TLS sync port
 * @param httpAddress     host:port of its HTTP API
 * @param startedAt       epoch millis
 * @param lastHeartbeat   epoch millis of its latest announcement
 * @param connections     device sessions open on it at that time
 */
public record NodeInfo(String nodeId, String syncAddress, String httpAddress, long startedAt, long lastHeartbeat,
                       int connections) {
}
