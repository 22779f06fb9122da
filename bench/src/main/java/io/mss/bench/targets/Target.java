package io.mss.bench.targets;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One system under test: started by the harness on loopback with free ports, driven through the same
 * operations by every scenario, stopped after. {@link #publish} completes when the system has
 * acknowledged the message (MSS: push API OK after its group commit; MQTT: PUBACK; JetStream: publish ack).
 */
public interface Target extends AutoCloseable {

    String name();

    /** Starts the server processes in {@code workDir}; returns when they accept connections. */
    void start(Path workDir) throws Exception;

    /** The server's process id, for /proc figures. */
    long serverPid();

    /** Every process of the server (the nodes of a cluster); their /proc figures are summed. */
    default List<Long> serverPids() {
        return List.of(serverPid());
    }

    /** Whether the server is a JVM whose heap can be read after a GC. */
    default boolean isJvm() {
        return false;
    }

    /** Creates what the devices of the workload need on the server (bizTypes, stream, consumers). */
    void prepare(Workload workload, List<String> deviceIds) throws Exception;

    /** Connects a device and subscribes it; completes when it is ready to receive. */
    CompletableFuture<Void> connect(String deviceId, int sourceIndex, Workload workload, Receiver receiver);

    /** Closes a device's connection; its session / sync points / durable consumer stay on the server. */
    CompletableFuture<Void> disconnect(String deviceId);

    /** One message to one device's timeline ({@code topic} 0..9 for {@link Workload#TOPICS}). */
    CompletableFuture<Void> publish(String deviceId, int topic, String payload);

    /** Several messages, as one request where the system has a batch API; completes when all are acknowledged. */
    default CompletableFuture<Void> publishBatch(List<String> deviceIds, int topic, List<String> payloads) {
        CompletableFuture<?>[] all = new CompletableFuture<?>[deviceIds.size()];
        for (int i = 0; i < all.length; i++) {
            all[i] = publish(deviceIds.get(i), topic, payloads.get(i));
        }
        return CompletableFuture.allOf(all);
    }

    /**
     * One message, over the system's streaming publish API where it has one beside its plain one
     * (MSS: the gRPC {@code PushStream}). The peers' publishes already share one pipelined
     * connection, so for them this is {@link #publish}.
     */
    default CompletableFuture<Void> publishStreamed(String deviceId, int topic, String payload) {
        return publish(deviceId, topic, payload);
    }

    /** One message to every device of a {@link Workload#BROADCAST}. */
    CompletableFuture<Void> broadcast(String payload);

    /** Bytes the device connections sent and received, counted in the client, or -1 when not counted there. */
    long deviceWireBytes();

    @Override
    void close();
}
