package io.mss.e2e;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A real server in a temp dir, a delivery checker, and the SDK devices a test connects; closed together. */
final class Fleet implements AutoCloseable {
    final TestServer server;
    final DeliveryChecker checker = new DeliveryChecker();
    private final Path dir;
    private final List<Device> devices = new ArrayList<>();

    private Fleet(Path dir, TestServer server) {
        this.dir = dir;
        this.server = server;
    }

    /** Starts the server and creates the bizTypes given as {@code "ID:RANGE:TARGET"}. */
    static Fleet start(Path dir, String... bizTypes) throws Exception {
        TestServer server = TestServer.start(dir.resolve("server"));
        for (String spec : bizTypes) {
            String[] parts = spec.split(":");
            server.api.createBizType(parts[0], parts[1], parts[2]);
        }
        return new Fleet(dir, server);
    }

    /** Connects a device with a fresh state dir of its own: a new install. */
    Device device(String deviceId, String userId, String... bizTypes) {
        return add(Device.connect(deviceId, userId, server, dir.resolve("state-" + deviceId + "-" + devices.size()),
                checker, bizTypes));
    }

    /** Closes a device the test built itself together with the fleet. */
    Device add(Device device) {
        devices.add(device);
        return device;
    }

    @Override
    public void close() throws IOException {
        for (Device device : devices) {
            device.close();
        }
        server.close();
    }
}
