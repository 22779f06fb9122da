package io.mss.server.gateway;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The sync port's TLS context, rebuilt when its certificate or key file changes, so that a
 * rotated certificate needs no restart: new handshakes get the new one, connections already open
 * keep the one they were made with. The files are looked at on a timer thread of its own, never
 * on an event loop; a changed file is loaded once it has stayed the same for one interval (a cert
 * and key written one after the other are read as a pair), and a file that does not load leaves
 * the previous context in use.
 */
final class ReloadingSslContext implements Supplier<SslContext>, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReloadingSslContext.class);
    private static final Logger events = LoggerFactory.getLogger("mss.events");

    private final File certFile;
    private final File keyFile;
    private final SslProvider provider;
    private final ScheduledExecutorService timer;
    private volatile SslContext current;
    // the timer thread's own: what was loaded last, and what the previous look saw
    private Stamp loaded;
    private Stamp seen;

    ReloadingSslContext(File certFile, File keyFile, SslProvider provider, Duration interval) throws SSLException {
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.provider = provider;
        this.loaded = Stamp.of(certFile, keyFile);
        this.seen = loaded;
        this.current = build();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "mss-tls-reload");
            thread.setDaemon(true);
            return thread;
        });
        timer.scheduleWithFixedDelay(this::check, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The context for the next handshake. */
    @Override
    public SslContext get() {
        return current;
    }

    private SslContext build() throws SSLException {
        return SslContextBuilder.forServer(certFile, keyFile)
                .sslProvider(provider)
                .protocols("TLSv1.3", "TLSv1.2")
                .ciphers(GatewayServer.STRONG_CIPHERS)
                .build();
    }

    private void check() {
        Stamp now = Stamp.of(certFile, keyFile);
        if (now.equals(loaded) || !now.equals(seen)) {
            seen = now;
            return;
        }
        loaded = now;
        try {
            current = build();
            events.info("tls-reload cert={} key={}: new handshakes use the new certificate", certFile, keyFile);
        } catch (SSLException | RuntimeException e) {
            log.warn("cannot load the changed TLS certificate {} / key {}; keeping the previous one: {}",
                    certFile, keyFile, e.getMessage());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /** What tells a changed file apart: its inode (a file renamed over it), size and modification time. */
    private record Stamp(FileStamp cert, FileStamp key) {
        static Stamp of(File cert, File key) {
            return new Stamp(FileStamp.of(cert), FileStamp.of(key));
        }
    }

    private record FileStamp(Object fileKey, long size, java.time.Instant modified) {
        /** null while the file is missing (being replaced): looked at again next time. */
        static FileStamp of(File file) {
            try {
                BasicFileAttributes a = Files.readAttributes(file.toPath(), BasicFileAttributes.class);
                return new FileStamp(a.fileKey(), a.size(), a.lastModifiedTime().toInstant());
            } catch (IOException e) {
                return null;
            }
        }
    }
}
