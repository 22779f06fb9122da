package io.mss.bench.targets;

/**
 * What the devices of a scenario subscribe to. Each target maps it to its own nearest equivalent:
 * MSS bizTypes, MQTT topics (persistent sessions), JetStream subjects and durable consumers.
 */
public enum Workload {
    /** one timeline per device: MSS DEVICE bizType, MQTT topic dev/{id}, JetStream subject dev.{id} */
    INBOX,
    /** ten timelines per device (catch-up across 10 bizTypes / topics / subjects) */
    TOPICS,
    /** one timeline every device follows: MSS GLOBAL bizType, one MQTT topic, one subject */
    BROADCAST,
    /** connections only (idle): MSS session with one bizType, MQTT subscription, NATS core subscription */
    IDLE;

    public static final int TOPIC_COUNT = 10;
}
