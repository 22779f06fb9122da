package io.mss.e2e;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fails a test class when Netty's leak detector (paranoid in every test JVM) reported a
 * leaked buffer while it ran. Registered for every test class through the JUnit service file;
 * the appender half is wired to Netty's leak logger in logback-test.xml.
 */
public final class NettyLeakGuard extends AppenderBase<ILoggingEvent> implements AfterAllCallback {
    private static final List<String> LEAKS = new CopyOnWriteArrayList<>();

    @Override
    protected void append(ILoggingEvent event) {
        if (event.getFormattedMessage().contains("LEAK:")) {
            LEAKS.add(event.getFormattedMessage());
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        // leaks are reported when a collected buffer is noticed by a later tracked allocation
        for (int round = 0; round < 3; round++) {
            System.gc();
            for (int i = 0; i < 100; i++) {
                ByteBufAllocator.DEFAULT.directBuffer(16).release();
                ByteBufAllocator.DEFAULT.heapBuffer(16).release();
            }
        }
        List<String> found = List.copyOf(LEAKS);
        LEAKS.clear();
        assertThat(found).as("Netty buffers leaked during " + context.getDisplayName()).isEmpty();
    }
}
