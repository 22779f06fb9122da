package io.mss.bench.targets;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.Mqtt5Subscribe;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Mosquitto 2 with a TLS listener, persistence on, QoS 1 and persistent sessions (clean start off,
 * a session expiry), driven by the HiveMQ MQTT client. Each device subscribes to its own topic
 * {@code dev/<id>} (ten topics {@code dev/<id>/<n>} for catch-up, {@code all} for broadcast).
 * Mosquitto writes its persistence file periodically, not before a PUBACK: it is not durable the
 * way MSS is, and the report says so.
 */
public final class MosquittoTarget implements Target {
    private static final long SESSION_EXPIRY_SECONDS = 3600;

    private final Map<String, Mqtt5AsyncClient> clients = new ConcurrentHashMap<>();
    private final List<Mqtt5AsyncClient> publishers = new ArrayList<>();
    private final AtomicInteger nextPublisher = new AtomicInteger();
    private final Pinning pinning;
    private ServerProcess server;
    private Certificates certificates;
    private int port;

    public MosquittoTarget(Pinning pinning) {
        this.pinning = pinning;
    }

    @Override
    public String name() {
        return "mosquitto";
    }

    @Override
    public void start(Path workDir) throws Exception {
        certificates = Certificates.create(workDir.resolve("tls"));
        Path data = Files.createDirectories(workDir.resolve("persistence"));
        port = Loopback.freePort();
        Path conf = workDir.resolve("mosquitto.conf");
        Files.writeString(conf, String.join("\n",
                "per_listener_settings false",
                "allow_anonymous true",
                // started as root, mosquitto would switch to its own user, which cannot read the harness's temp dir
                "user " + System.getProperty("user.name"),
                "listener " + port + " 127.0.0.1",
                "certfile " + certificates.cert(),
                "keyfile " + certificates.key(),
                "persistence true",
                "persistence_location " + data + "/",
                "max_queued_messages 1000000",
                "max_queued_bytes 0",
                "max_inflight_messages 1000",
                "max_keepalive 65535",
                "log_type error",
                "log_type warning",
                ""));
        server = ServerProcess.start("mosquitto", pinning.server(List.of("mosquitto", "-c", conf.toString())), Map.of(),
                workDir);
        server.awaitPort(port, 20_000);
        for (int i = 0; i < 4; i++) {
            Mqtt5AsyncClient publisher = client("bench-publisher-" + i, -1);
            publisher.connectWith().cleanStart(true).keepAlive(60).send().get();
            publishers.add(publisher);
        }
    }

    private Mqtt5AsyncClient client(String id, int sourceIndex) {
        var builder = MqttClient.builder().useMqttVersion5().identifier(id)
                .transportConfig().serverHost("127.0.0.1").serverPort(port)
                .sslConfig().trustManagerFactory(certificates.trust()).hostnameVerifier((host, session) -> true).applySslConfig();
        if (sourceIndex >= 0) {
            builder = builder.localAddress(Loopback.source(sourceIndex));
        }
        return builder.applyTransportConfig().buildAsync();
    }

    @Override
    public long serverPid() {
        return server.pid();
    }

    @Override
    public void prepare(Workload workload, List<String> deviceIds) {
        // subscriptions are made by the devices themselves and kept in their persistent sessions
    }

    static String topic(String deviceId, int topic) {
        return topic < 0 ? "dev/" + deviceId : "dev/" + deviceId + "/" + topic;
    }

    @Override
    public CompletableFuture<Void> connect(String deviceId, int sourceIndex, Workload workload, Receiver receiver) {
        Mqtt5AsyncClient client = clients.computeIfAbsent(deviceId, id -> {
            Mqtt5AsyncClient c = client(id, sourceIndex);
            // registered once, before the first connect: also gets what a resumed session delivers
            c.publishes(MqttGlobalPublishFilter.ALL,
                    publish -> receiver.received(id, StandardCharsets.UTF_8.decode(publish.getPayload().orElseThrow())));
            return c;
        });
        return client.connectWith().cleanStart(false).sessionExpiryInterval(SESSION_EXPIRY_SECONDS).keepAlive(30).send()
                .thenCompose(ack -> {
                    if (ack.isSessionPresent()) {
                        return CompletableFuture.completedFuture(null);
                    }
                    var subscribe = Mqtt5Subscribe.builder();
                    switch (workload) {
                        case TOPICS -> {
                            for (int i = 0; i < Workload.TOPIC_COUNT - 1; i++) {
                                subscribe.addSubscription().topicFilter(topic(deviceId, i)).qos(MqttQos.AT_LEAST_ONCE).applySubscription();
                            }
                            return client.subscribe(subscribe.addSubscription().topicFilter(topic(deviceId, Workload.TOPIC_COUNT - 1))
                                    .qos(MqttQos.AT_LEAST_ONCE).applySubscription().build()).thenApply(s -> null);
                        }
                        case BROADCAST -> {
                            return client.subscribe(subscribe.topicFilter("all").qos(MqttQos.AT_LEAST_ONCE).build()).thenApply(s -> null);
                        }
                        default -> {
                            return client.subscribe(subscribe.topicFilter(topic(deviceId, -1)).qos(MqttQos.AT_LEAST_ONCE).build())
                                    .thenApply(s -> null);
                        }
                    }
                });
    }

    @Override
    public CompletableFuture<Void> disconnect(String deviceId) {
        Mqtt5AsyncClient client = clients.get(deviceId);
        return client == null ? CompletableFuture.completedFuture(null) : client.disconnect();
    }

    @Override
    public CompletableFuture<Void> publish(String deviceId, int topic, String payload) {
        return send(topic(deviceId, topic), payload);
    }

    private CompletableFuture<Void> send(String topic, String payload) {
        Mqtt5AsyncClient publisher = publishers.get(Math.floorMod(nextPublisher.getAndIncrement(), publishers.size()));
        return publisher.publishWith().topic(topic).qos(MqttQos.AT_LEAST_ONCE)
                .payload(payload.getBytes(StandardCharsets.UTF_8)).send()
                .thenApply(result -> {
                    result.getError().ifPresent(e -> {
                        throw new IllegalStateException("publish failed", e);
                    });
                    return null;
                });
    }

    @Override
    public CompletableFuture<Void> broadcast(String payload) {
        return send("all", payload);
    }

    @Override
    public long deviceWireBytes() {
        return -1; // the HiveMQ client does not expose its byte counts; the report uses the server's /proc io
    }

    @Override
    public void close() {
        for (Mqtt5AsyncClient c : clients.values()) {
            c.disconnect();
        }
        for (Mqtt5AsyncClient p : publishers) {
            p.disconnect();
        }
        if (server != null) {
            server.close();
        }
    }

}
