package io.mss.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.mss.client.ConnectFailure;
import io.mss.client.ConnectionListener;
import io.mss.client.FullUpdate;
import io.mss.client.MessageCallback;
import io.mss.client.MssClient;
import io.mss.client.SyncMessage;
import io.mss.server.auth.TokenVerifier;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** An app install on the command line, built on the Java SDK: prints what it receives, then acks it. */
@Command(name = "listen", mixinStandardHelpOptions = true,
        description = {"Connects as a device and prints one JSON line per message:",
                "{\"biz\",\"id\",\"userId\",\"payload\"} (plus \"epoch\" when the server sent one);",
                "each line is flushed before the message is acked. A FULL_UPDATE prints",
                "{\"biz\",\"event\":\"FULL_UPDATE\",\"epoch\",\"restart\",\"detail\"}.",
                "Sync points are kept in --state-dir, so a restarted listen resumes where it stopped.",
                "Failed connect attempts are printed on stderr; it exits 1 when retrying cannot help."})
final class ListenCommand implements Callable<Integer> {
    @Mixin
    DataDirOption data;

    @Option(names = "--server", defaultValue = "localhost:7443", description = "HOST:PORT of the sync port (default: ${DEFAULT-VALUE}).")
    String server;

    @Option(names = "--device", required = true, description = "deviceId of this install.")
    String device;

    @Option(names = "--user", description = "Signed-in userId; omit for an anonymous device.")
    String user;

    @Option(names = "--biz", required = true, split = ",", description = "bizTypes to receive, comma-separated.")
    List<String> bizTypes;

    @Option(names = "--state-dir", description = "Where sync points are kept (default: <data-dir>/clients/<device>).")
    Path stateDir;

    @ArgGroup(exclusive = true)
    Trust trust;

    static final class Trust {
        @Option(names = "--insecure", description = "Do not verify the server's certificate (development only).")
        boolean insecure;
        @Option(names = "--ca", description = "PEM certificate to trust (default: <data-dir>/tls/server.crt when it exists).")
        Path ca;
    }

    @Option(names = "--os", defaultValue = "cli", description = "OS type reported to the server.")
    String osType;

    @Option(names = "--app-version", defaultValue = "1.0.0", description = "App version reported to the server.")
    String appVersion;

    @Option(names = "--count", description = "Exit after this many messages.")
    Long count;

    /**
     * The SDK's own log line for a failed connect attempt: listen prints each attempt itself, in
     * one line, so the SDK's would say it twice. Held, so the level is not lost with the logger.
     */
    private static final java.util.logging.Logger CONNECT_LOG = java.util.logging.Logger.getLogger(
            io.mss.client.MssClient.CONNECT_LOGGER);

    @Override
    public Integer call() throws Exception {
        CONNECT_LOG.setLevel(java.util.logging.Level.OFF);
        int colon = server.lastIndexOf(':');
        if (colon <= 0) {
            System.err.println("mss listen: --server must be HOST:PORT, got '" + server + "'");
            return 2;
        }
        String host = server.substring(0, colon);
        int port = Integer.parseInt(server.substring(colon + 1));
        TokenVerifier tokens = new TokenVerifier(data.tokenSecret(), Clock.systemUTC());
        Path state = stateDir != null ? stateDir : data.dataDir.resolve("clients").resolve(device);

        MssClient.Builder builder = MssClient.builder()
                .server(host, port)
                .deviceId(device)
                .tokenProvider((did, uid) -> tokens.mint(did, uid, 3600))
                .stateDir(state.toFile())
                .osType(osType)
                .appVersion(appVersion);
        Path defaultCa = data.dataDir.resolve("tls").resolve("server.crt");
        if (trust != null && trust.insecure) {
            builder.insecureTrustAll();
        } else {
            Path ca = trust != null && trust.ca != null ? trust.ca : defaultCa;
            if (Files.exists(ca)) {
                builder.trustCertificate(ca.toFile());
            } else if (trust != null && trust.ca != null) {
                System.err.println("mss listen: --ca " + ca + " does not exist");
                return 2;
            }
        }

        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
        ObjectMapper json = new ObjectMapper();
        CountDownLatch done = new CountDownLatch(1);
        AtomicInteger exitCode = new AtomicInteger(0);
        AtomicLong received = new AtomicLong();
        MssClient client = builder.build();
        client.addConnectionListener(new ConnectionListener() {
            @Override
            public void onConnected(String sessionId) {
                System.err.println("mss listen: connected to " + server + " as device " + device
                        + (user == null ? "" : " user " + user) + " (session " + sessionId + ")");
            }

            @Override
            public void onConnectFailed(ConnectFailure failure) {
                if (done.getCount() == 0) {
                    return;
                }
                if (failure.reason() == ConnectFailure.Reason.SERVER_ERROR && !failure.willRetry()) {
                    return; // onDisconnected says it and exits, as it always did
                }
                String hint = unfixableByRetrying(failure, defaultCa);
                if (hint == null) {
                    System.err.println("mss listen: " + failure.message());
                    return;
                }
                System.err.println("mss listen: " + hint);
                exitCode.set(1);
                done.countDown();
            }

            @Override
            public void onDisconnected(String reason, boolean willRetry) {
                if (done.getCount() == 0) {
                    return; // we are closing on purpose
                }
                System.err.println("mss listen: disconnected: " + reason + (willRetry ? "; reconnecting" : ""));
                if (!willRetry) {
                    exitCode.set(1);
                    done.countDown();
                }
            }
        });
        for (String biz : bizTypes) {
            client.registerBiz(biz, new MessageCallback() {
                @Override
                public void onMessage(SyncMessage message) {
                    Map<String, Object> line = new LinkedHashMap<>();
                    line.put("biz", message.bizType());
                    line.put("id", message.id());
                    line.put("userId", message.userId());
                    line.put("payload", message.payload());
                    if (message.epoch() != 0) {
                        line.put("epoch", message.epoch());
                    }
                    if (message.ephemeral()) {
                        line.put("ephemeral", true);
                    }
                    print(out, json, line);
                    // printed and flushed: only now is it safe to tell the server we have it
                    client.reportMsgReceived(message);
                    if (count != null && received.incrementAndGet() >= count) {
                        done.countDown();
                    }
                }

                @Override
                public void onFullUpdate(FullUpdate update) {
                    // on the callback executor in order with the messages: the lines after this one
                    // are the new timeline's
                    Map<String, Object> line = new LinkedHashMap<>();
                    line.put("biz", update.bizType());
                    line.put("event", "FULL_UPDATE");
                    line.put("epoch", update.epoch());
                    line.put("restart", update.restart());
                    line.put("detail", update.detail());
                    print(out, json, line);
                }
            });
        }
        if (user != null) {
            client.updateUserInfo(user);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(client::close, "mss-listen-shutdown"));
        client.appToForeground();
        done.await();
        client.close();
        return exitCode.get();
    }

    /**
     * What to tell the user when retrying cannot help (a certificate we do not trust, a port that
     * speaks no TLS, a token we cannot mint); null when listen should keep retrying.
     */
    private String unfixableByRetrying(ConnectFailure failure, Path defaultCa) {
        switch (failure.reason()) {
            case TLS_TRUST: {
                String given = trust != null && trust.ca != null
                        ? displayed(trust.ca) + " is not the certificate of " + server
                        : Files.exists(defaultCa) ? displayed(defaultCa) + " is not the certificate of " + server
                        : "there is no " + displayed(defaultCa);
                return "certificate not trusted: use --ca data/tls/server.crt, the tls/server.crt in the server's"
                        + " --data-dir (" + given + "; "
                        + failure.detail().replaceFirst("^certificate not trusted: ", "") + ")";
            }
            case TLS_HANDSHAKE:
                return "cannot connect to " + server + ": " + failure.detail()
                        + "; is it the sync port? (--server HOST:PORT, default localhost:7443)";
            case TOKEN_PROVIDER:
                return "cannot mint a client token: " + failure.detail();
            default:
                return null;
        }
    }

    /** The path as the user would type it: relative to the working directory when inside it. */
    private static String displayed(Path path) {
        Path cwd = Path.of("").toAbsolutePath();
        Path abs = path.toAbsolutePath().normalize();
        return abs.startsWith(cwd) ? cwd.relativize(abs).toString() : path.toString();
    }

    private static void print(PrintStream out, ObjectMapper json, Map<String, Object> line) {
        try {
            out.println(json.writeValueAsString(line));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        out.flush();
    }
}
