package io.mss.bench.targets;

import io.mss.bench.client.ClientLoop;
import io.mss.bench.client.NatsDevices;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * nats-server with TLS and JetStream on file storage: one stream ({@code dev.>} and {@code all}), a
 * durable push consumer per device with explicit acks, a subject per device. Published with jnats
 * (publish ack = stored); devices are {@link NatsDevices}.
 *
 * <p>{@code alwaysSync} asks for {@code jetstream { sync_interval: always }} (fsync before the publish
 * ack, durable like MSS). nats-server 2.9 does not know that setting; the target then refuses to
 * start with a message saying so, and the run reports it as not measured.
 */
public final class NatsTarget implements Target {
    static final String STREAM = "BENCH";

    private final String name;
    private final boolean alwaysSync;
    private final Pinning pinning;
    private ServerProcess server;
    private Certificates certificates;
    private Connection publisher;
    private JetStream jetStream;
    private ClientLoop loop;
    private NatsDevices devices;

    public NatsTarget(String name, boolean alwaysSync, Pinning pinning) {
        this.name = name;
        this.alwaysSync = alwaysSync;
        this.pinning = pinning;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void start(Path workDir) throws Exception {
        certificates = Certificates.create(workDir.resolve("tls"));
        Path store = Files.createDirectories(workDir.resolve("jetstream"));
        int port = Loopback.freePort();
        Path conf = workDir.resolve("nats.conf");
        Files.writeString(conf, String.join("\n",
                "listen: 127.0.0.1:" + port,
                "max_payload: 1MB",
                "write_deadline: \"30s\"",
                "tls {",
                "  cert_file: \"" + certificates.cert() + "\"",
                "  key_file: \"" + certificates.key() + "\"",
                "  timeout: 10",
                "}",
                "jetstream {",
                "  store_dir: \"" + store + "\"",
                "  max_file_store: 20GB",
                "  max_memory_store: 256MB",
                alwaysSync ? "  sync_interval: always" : "",
                "}",
                ""));
        if (alwaysSync && !acceptsSyncInterval(conf, workDir)) {
            throw new UnsupportedOperationException("this nats-server does not accept 'jetstream { sync_interval: always }' "
                    + "(added in 2.10); it has no setting that fsyncs before the publish ack");
        }
        server = ServerProcess.start(name, pinning.server(List.of("nats-server", "-c", conf.toString())), Map.of(), workDir);
        server.awaitPort(port, 20_000);
        Options options = new Options.Builder().server("tls://127.0.0.1:" + port).sslContext(certificates.sslContext())
                .connectionTimeout(Duration.ofSeconds(10)).maxReconnects(0).build();
        publisher = Nats.connect(options);
        jetStream = publisher.jetStream();
        loop = new ClientLoop(2);
        devices = new NatsDevices(loop, certificates.cert(), new InetSocketAddress("127.0.0.1", port));
    }

    /** {@code nats-server -t} checks a configuration without starting. */
    private static boolean acceptsSyncInterval(Path conf, Path workDir) throws IOException, InterruptedException {
        Process check;
        try {
            check = new ProcessBuilder("nats-server", "-c", conf.toString(), "-t").directory(workDir.toFile())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new UnsupportedOperationException("cannot run nats-server: " + e.getMessage(), e);
        }
        String out = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return check.waitFor() == 0 && !out.contains("unknown field");
    }

    @Override
    public long serverPid() {
        return server.pid();
    }

    @Override
    public void prepare(Workload workload, List<String> deviceIds) throws Exception {
        JetStreamManagement management = publisher.jetStreamManagement();
        management.addStream(StreamConfiguration.builder().name(STREAM).subjects("dev.>", "all")
                .storageType(StorageType.File).build());
        if (workload == Workload.IDLE) {
            return; // connections only: a core subscription each, no consumers
        }
        // consumers are created over a few connections at once: one at a time takes minutes for 10,000
        ExecutorService creators = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> created = new ArrayList<>();
            for (String id : deviceIds) {
                String filter = switch (workload) {
                    case TOPICS -> "dev." + id + ".*";
                    case BROADCAST -> "all";
                    default -> "dev." + id;
                };
                created.add(creators.submit(() -> management.addOrUpdateConsumer(STREAM, ConsumerConfiguration.builder()
                        .durable("d-" + id).deliverSubject(deliverSubject(id)).filterSubject(filter)
                        .ackPolicy(AckPolicy.Explicit).deliverPolicy(DeliverPolicy.All).build())));
            }
            for (Future<?> f : created) {
                f.get();
            }
        } finally {
            creators.shutdownNow();
        }
    }

    static String deliverSubject(String deviceId) {
        return "deliver." + deviceId;
    }

    @Override
    public CompletableFuture<Void> connect(String deviceId, int sourceIndex, Workload workload, Receiver receiver) {
        return devices.connect(deviceId, sourceIndex, deliverSubject(deviceId), receiver);
    }

    @Override
    public CompletableFuture<Void> disconnect(String deviceId) {
        return devices.disconnect(deviceId);
    }

    @Override
    public CompletableFuture<Void> publish(String deviceId, int topic, String payload) {
        String subject = topic < 0 ? "dev." + deviceId : "dev." + deviceId + "." + topic;
        return send(subject, payload);
    }

    private CompletableFuture<Void> send(String subject, String payload) {
        return jetStream.publishAsync(subject, payload.getBytes(StandardCharsets.UTF_8)).thenApply(ack -> null);
    }

    @Override
    public CompletableFuture<Void> broadcast(String payload) {
        return send("all", payload);
    }

    @Override
    public long deviceWireBytes() {
        return devices == null ? -1 : devices.wireBytes();
    }

    @Override
    public void close() {
        if (devices != null) {
            devices.close();
        }
        if (loop != null) {
            loop.close();
        }
        if (publisher != null) {
            try {
                publisher.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (server != null) {
            server.close();
        }
    }
}
