package io.mss.e2e;

import io.mss.client.MssClient;
import io.mss.client.SyncMessage;

import java.io.File;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An app install in a test: the real client SDK over real TLS, recording every message its
 * callbacks receive into a {@link DeliveryChecker}, then acking it as an app would.
 */
final class Device implements AutoCloseable {
    final String deviceId;
    private final String userId;
    final MssClient client;
    final List<SyncMessage> received = new CopyOnWriteArrayList<>();
    final List<String> fullUpdates = new CopyOnWriteArrayList<>();
    private final DeliveryChecker checker;
    /** Which messages the app acks; an app that crashes before storing one does not. */
    volatile java.util.function.Predicate<SyncMessage> acks = m -> true;

    Device(String deviceId, String userId, int port, File cert, Path stateDir, DeliveryChecker checker,
           String... bizTypes) {
        this(deviceId, userId, port, cert, stateDir, checker, "android", "1.0.0", bizTypes);
    }

    Device(String deviceId, String userId, int port, File cert, Path stateDir, DeliveryChecker checker,
           String osType, String appVersion, String... bizTypes) {
        this.deviceId = deviceId;
        this.userId = userId;
        this.checker = checker;
        this.client = MssClient.builder()
                .server("localhost", port)
                .trustCertificate(cert)
                .deviceId(deviceId)
                .tokenProvider((did, uid) -> TestServer.token(did, uid))
                .stateDir(stateDir.toFile())
                .reconnectBackoff(50, 500)
                .osType(osType)
                .appVersion(appVersion)
                .build();
        for (String bizType : bizTypes) {
            client.registerBiz(bizType, new io.mss.client.MessageCallback() {
                @Override
                public void onMessage(SyncMessage message) {
                    Device.this.onMessage(message);
                }

                @Override
                public void onFullUpdate(io.mss.client.FullUpdate update) {
                    fullUpdates.add(update.bizType());
                    if (update.restart() && update.scope() != null) {
                        // the scope starts over: what follows is checked as a new pass
                        checker.restarted(deviceId, scopeOf(update.bizType(), update.scope()));
                    }
                }
            });
        }
        if (userId != null) {
            client.updateUserInfo(userId);
        }
    }

    static Device connect(String deviceId, String userId, TestServer server, Path stateDir, DeliveryChecker checker,
                          String... bizTypes) {
        Device device = new Device(deviceId, userId, server.syncPort(), server.certFile().toFile(), stateDir,
                checker, bizTypes);
        device.client.appToForeground();
        return device;
    }

    private void onMessage(SyncMessage message) {
        received.add(message);
        if (acks.test(message)) {
            checker.delivered(deviceId, scopeOf(message), message.id(), message.payload());
            client.reportMsgReceived(message);
        }
    }

    String scopeOf(SyncMessage message) {
        String owner = switch (message.scope()) {
            case USER -> message.userId();
            case DEVICE -> deviceId;
            case GLOBAL -> "";
        };
        return DeliveryChecker.scope(message.bizType(), message.scope().name(), owner);
    }

    /** A FULL_UPDATE names no user: a USER scope is the one of the user the device was made with. */
    private String scopeOf(String bizType, io.mss.client.Scope scope) {
        String owner = switch (scope) {
            case USER -> userId;
            case DEVICE -> deviceId;
            case GLOBAL -> "";
        };
        return DeliveryChecker.scope(bizType, scope.name(), owner);
    }

    @Override
    public void close() throws java.io.IOException {
        client.close();
    }
}
