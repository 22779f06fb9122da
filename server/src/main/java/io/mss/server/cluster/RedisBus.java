package io.mss.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.mss.server.store.Scope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The bus over Redis pub/sub (Lettuce). One channel for the cluster, {@code <cluster>:events}:
 * each node publishes one message per commit batch, holding the new head of every scope the
 * batch advanced, and every node receives all of them and wakes the sessions it holds for
 * those scopes. docs/cluster.md explains why one channel rather than a channel per scope.
 *
 * <p>Nodes announce themselves in a hash {@code <cluster>:node:<nodeId>} refreshed every
 * heartbeat and expiring after three missed ones, and in the sorted set {@code <cluster>:nodes}
 * scored by their last heartbeat, so listing them reads that set instead of scanning keys.
 *
 * <p>While Redis is unreachable, publishing fails at once (commands are rejected, not queued)
 * and Lettuce reconnects and resubscribes in the background; the reconciliation covers the
 * messages lost meanwhile.
 */
public final class RedisBus implements ClusterBus {
    private static final Logger log = LoggerFactory.getLogger(RedisBus.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String nodeId;
    private final String channel;
    private final String nodeKeyPrefix;
    private final String nodesKey;
    private final Supplier<NodeInfo> self;
    private final Duration heartbeat;
    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;
    private final StatefulRedisPubSubConnection<String, String> subscription;
    private final List<BiConsumer<Scope, Long>> advancedListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<String>> configListeners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService announcer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "mss-cluster-announce");
        thread.setDaemon(true);
        return thread;
    });
    /** Handles received messages in order, off Lettuce's I/O thread (a config change reads the store). */
    private final java.util.concurrent.ExecutorService inbox = Executors.newSingleThreadExecutor(r -> {
        Thread thread = new Thread(r, "mss-cluster-events");
        thread.setDaemon(true);
        return thread;
    });
    private volatile boolean lastAnnounceOk;

    private RedisBus(String nodeId, String clusterName, Supplier<NodeInfo> self, Duration heartbeat,
                     RedisClient client, StatefulRedisConnection<String, String> connection,
                     StatefulRedisPubSubConnection<String, String> subscription) {
        this.nodeId = nodeId;
        this.channel = clusterName + ":events";
        this.nodeKeyPrefix = clusterName + ":node:";
        this.nodesKey = clusterName + ":nodes";
        this.self = self;
        this.heartbeat = heartbeat;
        this.client = client;
        this.connection = connection;
        this.subscription = subscription;
    }

    /**
     * Connects, subscribes and announces this node; throws when Redis cannot be reached now.
     *
     * @param clusterName prefix of every key and channel, so several clusters can share a Redis
     */
    public static RedisBus connect(String redisUri, String clusterName, String nodeId, Supplier<NodeInfo> self,
                                   Duration heartbeat, io.mss.server.metrics.MssMetrics metrics) {
        RedisURI uri = RedisURI.create(redisUri);
        uri.setTimeout(Duration.ofSeconds(2));
        RedisClient client = RedisClient.create(uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                // a publish while Redis is away fails now instead of piling up in memory
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .build());
        StatefulRedisConnection<String, String> connection = null;
        RedisBus bus = null;
        try {
            connection = client.connect();
            StatefulRedisPubSubConnection<String, String> subscription = client.connectPubSub();
            RedisBus created = new RedisBus(nodeId, clusterName, self, heartbeat, client, connection, subscription);
            bus = created;
            subscription.addListener(new RedisPubSubAdapter<>() {
                private boolean subscribedOnce;

                /** Lettuce subscribes again by itself after a reconnect (to the new master, after a Sentinel failover). */
                @Override
                public void subscribed(String channel, long count) {
                    if (subscribedOnce) {
                        log.info("Redis bus: subscribed to {} again", channel);
                        metrics.busReconnected();
                    }
                    subscribedOnce = true;
                }

                @Override
                public void message(String channel, String message) {
                    try {
                        created.inbox.execute(() -> created.received(message));
                    } catch (java.util.concurrent.RejectedExecutionException closing) {
                        // the node is shutting down
                    }
                }
            });
            // subscribed before this node takes any session: a session's backlog read comes after
            subscription.sync().subscribe(bus.channel);
            bus.announce();
            bus.announcer.scheduleWithFixedDelay(bus::announce, heartbeat.toMillis(), heartbeat.toMillis(),
                    TimeUnit.MILLISECONDS);
            log.info("Redis bus at {}: node {}, channel {}", uri.getSentinels().isEmpty() ? uri.getHost() + ":" + uri.getPort()
                    : "master " + uri.getSentinelMasterId() + " of sentinels " + uri.getSentinels().stream()
                    .map(sentinel -> sentinel.getHost() + ":" + sentinel.getPort()).toList(), nodeId, bus.channel);
            return bus;
        } catch (RuntimeException e) {
            if (bus != null) {
                bus.announcer.shutdownNow();
                bus.inbox.shutdownNow();
            }
            if (connection != null) {
                connection.close();
            }
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            throw new IllegalStateException("could not connect to Redis at " + redisUri + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void advanced(Map<Scope, Long> heads) {
        if (heads.isEmpty()) {
            return;
        }
        ObjectNode message = JSON.createObjectNode().put("node", nodeId);
        ArrayNode list = message.putArray("heads");
        heads.forEach((scope, id) -> list.addArray().add(scope.key()).add(id));
        publish(message);
    }

    @Override
    public void configChanged(String bizTypeId) {
        publish(JSON.createObjectNode().put("node", nodeId).put("config", bizTypeId));
    }

    private void publish(ObjectNode message) {
        try {
            // asynchronous: called on the store's commit thread, which must not wait for Redis
            connection.async().publish(channel, message.toString()).exceptionally(e -> {
                log.debug("publish failed (the reconciliation will catch up): {}", e.toString());
                return 0L;
            });
        } catch (RuntimeException e) {
            log.debug("publish failed (the reconciliation will catch up): {}", e.toString());
        }
    }

    private void received(String text) {
        try {
            JsonNode message = JSON.readTree(text);
            if (nodeId.equals(message.path("node").asText())) {
                return; // this node's own commits reached its sessions through the store's listener
            }
            if (message.has("config")) {
                String bizType = message.get("config").asText();
                configListeners.forEach(listener -> listener.accept(bizType));
                return;
            }
            for (JsonNode head : message.path("heads")) {
                Scope scope = ScopeKeys.parse(head.get(0).asText());
                long id = head.get(1).asLong();
                advancedListeners.forEach(listener -> listener.accept(scope, id));
            }
        } catch (Exception e) {
            log.warn("ignoring an unreadable bus message: {}", e.toString());
        }
    }

    @Override
    public void onAdvanced(BiConsumer<Scope, Long> listener) {
        advancedListeners.add(listener);
    }

    @Override
    public void onConfigChanged(Consumer<String> listener) {
        configListeners.add(listener);
    }

    @Override
    public boolean healthy() {
        return connection.isOpen() && subscription.isOpen() && lastAnnounceOk;
    }

    @Override
    public void started() {
        announcer.execute(this::announce);
    }

    private void announce() {
        NodeInfo node = self.get();
        String key = nodeKeyPrefix + nodeId;
        try {
            RedisCommands<String, String> redis = connection.sync();
            redis.hset(key, Map.of(
                    "nodeId", node.nodeId(),
                    "syncAddress", node.syncAddress(),
                    "httpAddress", node.httpAddress(),
                    "startedAt", Long.toString(node.startedAt()),
                    "lastHeartbeat", Long.toString(node.lastHeartbeat()),
                    "connections", Integer.toString(node.connections())));
            redis.pexpire(key, heartbeat.toMillis() * 3);
            redis.zadd(nodesKey, node.lastHeartbeat(), nodeId);
            // nodes that stopped without withdrawing: gone after three missed heartbeats
            redis.zremrangebyscore(nodesKey, Range.create(Double.NEGATIVE_INFINITY,
                    (double) (node.lastHeartbeat() - heartbeat.toMillis() * 3)));
            if (!lastAnnounceOk) {
                log.info("Redis bus: node {} announced", nodeId);
            }
            lastAnnounceOk = true;
        } catch (RuntimeException e) {
            if (lastAnnounceOk) {
                log.warn("Redis is unreachable: {}", e.toString());
            }
            lastAnnounceOk = false;
        }
    }

    @Override
    public List<NodeInfo> nodes() {
        List<NodeInfo> nodes = new ArrayList<>();
        try {
            RedisCommands<String, String> redis = connection.sync();
            for (String id : redis.zrange(nodesKey, 0, -1)) {
                // the hash expires after three missed heartbeats: a member without one is gone
                Map<String, String> fields = redis.hgetall(nodeKeyPrefix + id);
                if (fields.isEmpty()) {
                    continue;
                }
                nodes.add(new NodeInfo(fields.get("nodeId"), fields.get("syncAddress"), fields.get("httpAddress"),
                        Long.parseLong(fields.getOrDefault("startedAt", "0")),
                        Long.parseLong(fields.getOrDefault("lastHeartbeat", "0")),
                        Integer.parseInt(fields.getOrDefault("connections", "0"))));
            }
        } catch (RedisException e) {
            throw new Unavailable("Redis is unreachable: " + e.getMessage(), e);
        }
        nodes.sort(Comparator.comparing(NodeInfo::nodeId));
        return nodes;
    }

    @Override
    public void close() {
        announcer.shutdownNow();
        inbox.shutdownNow();
        try {
            if (connection.isOpen()) {
                connection.sync().del(nodeKeyPrefix + nodeId);
                connection.sync().zrem(nodesKey, nodeId);
            }
        } catch (RuntimeException e) {
            log.debug("could not withdraw node {}: {}", nodeId, e.toString());
        }
        subscription.close();
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
