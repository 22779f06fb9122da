package io.mss.bench.targets;

/** Called on a client I/O thread for every message a device receives (it is acked right after). */
@FunctionalInterface
public interface Receiver {
    void received(String deviceId, CharSequence payload);
}
