package io.mss.bench.measure;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class MeterTest {

    @Test
    void payloadCarriesItsSendTimeAndIsPaddedToSize() {
        String payload = Meter.payload(100);
        assertThat(payload).hasSize(100);
        assertThat(Long.parseLong(payload.substring(0, payload.indexOf('|')))).isLessThanOrEqualTo(System.nanoTime());
    }

    @Test
    void receiptRecordsLatencyFromTheSendTime() {
        Meter meter = new Meter();
        meter.receivedPayload(Meter.payload(100));
        meter.receivedPayload("not a timed payload"); // counted, not timed

        assertThat(meter.received.sum()).isEqualTo(2);
        assertThat(meter.totalLatency().getTotalCount()).isEqualTo(1);
        assertThat(meter.totalLatency().getMaxValue()).isLessThan(10_000_000); // microseconds: well under 10 s
    }
}
