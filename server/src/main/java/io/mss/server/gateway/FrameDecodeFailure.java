package io.mss.server.gateway;

import io.mss.protocol.v1.ErrorCode;

/** What the decoder emits instead of a frame when the input is malformed. */
public record FrameDecodeFailure(ErrorCode code, String message) {
}
