/**
 * The MSS wire protocol: generated protobuf messages in {@code io.mss.protocol.v1}, the
 * framing in {@link io.mss.protocol.Frames} and version negotiation in
 * {@link io.mss.protocol.ProtocolVersion}. Java 8, no Netty, so that any client can use it.
 */
package io.mss.protocol;
