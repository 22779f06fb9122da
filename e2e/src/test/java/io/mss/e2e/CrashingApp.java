package io.mss.e2e;

import io.mss.client.MessageCallback;
import io.mss.client.MssClient;
import io.mss.client.SyncMessage;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The app of {@link AppCrashTest}, run as its own JVM so that the test can SIGKILL it: the real
 * SDK with a state dir; its callback appends {@code scope id payload} to an output file, fsyncs
 * it, and only then acks the message with {@code reportMsgReceived}.
 *
 * <p>Like a real app that stores data idempotently, it reads its own file at start and skips
 * (acks without writing) any message whose id is not above the last id it wrote for that scope:
 * the SDK delivers a message again after a restart when the process died after the app stored
 * it but before the SDK recorded the ack. A torn last line (killed inside the write) is cut off
 * at start; that message was never acked, so it comes again.
 *
 * <p>Args: host port certFile deviceId userId stateDir outFile bizType...
 */
public final class CrashingApp {
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        File cert = new File(args[2]);
        String deviceId = args[3];
        String userId = args[4];
        Path stateDir = Path.of(args[5]);
        Path out = Path.of(args[6]);
        List<String> bizTypes = List.of(args).subList(7, args.length);

        Map<String, Long> last = new HashMap<>();
        int torn = readAndRepair(out, last);
        if (torn > 0) {
            System.out.println("torn-line bytes=" + torn);
        }
        FileChannel file = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        MssClient client = MssClient.builder()
                .server(host, port)
                .trustCertificate(cert)
                .deviceId(deviceId)
                .tokenProvider((did, uid) -> TestServer.token(did, uid))
                .stateDir(stateDir.toFile())
                .reconnectBackoff(50, 500)
                .build();
        for (String bizType : bizTypes) {
            client.registerBiz(bizType, new MessageCallback() {
                @Override
                public void onMessage(SyncMessage message) {
                    String scope = scopeOf(message, deviceId);
                    Long previous = last.get(scope);
                    if (previous != null && message.id() <= previous) {
                        System.out.println("skip " + scope + " " + message.id());
                        client.reportMsgReceived(message);
                        return;
                    }
                    byte[] line = (scope + ' ' + message.id() + ' ' + message.payload() + '\n')
                            .getBytes(StandardCharsets.UTF_8);
                    try {
                        ByteBuffer buffer = ByteBuffer.wrap(line);
                        while (buffer.hasRemaining()) {
                            file.write(buffer);
                        }
                        file.force(false);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e); // not acked: the SDK retries
                    }
                    last.put(scope, message.id());
                    client.reportMsgReceived(message);
                }

                @Override
                public void onMessageDropped(SyncMessage message, String reason) {
                    System.out.println("dropped " + scopeOf(message, deviceId) + " " + message.id() + " " + reason);
                }
            });
        }
        client.updateUserInfo(userId);
        client.appToForeground();
        System.out.println("started");
        Thread.sleep(Long.MAX_VALUE);
    }

    static String scopeOf(SyncMessage message, String deviceId) {
        String owner = switch (message.scope()) {
            case USER -> message.userId();
            case DEVICE -> deviceId;
            case GLOBAL -> "";
        };
        return DeliveryChecker.scope(message.bizType(), message.scope().name(), owner);
    }

    /** Reads the last id per scope; cuts a torn last line off. Returns how many bytes were cut. */
    private static int readAndRepair(Path out, Map<String, Long> last) throws IOException {
        if (!Files.exists(out)) {
            return 0;
        }
        byte[] bytes = Files.readAllBytes(out);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--;
        }
        if (end < bytes.length) {
            try (FileChannel channel = FileChannel.open(out, StandardOpenOption.WRITE)) {
                channel.truncate(end);
                channel.force(true);
            }
        }
        for (String line : new String(bytes, 0, end, StandardCharsets.UTF_8).split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] parts = line.split(" ", 3);
            last.merge(parts[0], Long.parseLong(parts[1]), Math::max);
        }
        return bytes.length - end;
    }
}
