package io.mss.protocol;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Varint length-prefixed framing over blocking streams, with a hard size cap.
 *
 * <p>A frame is {@code varint32(length) || length bytes of protobuf}. The reader checks the
 * length against the cap before allocating, so a peer cannot make us buffer more than the
 * cap. The Netty codec in the server implements the same format.
 */
public final class Frames {
    /** Default cap for one frame in either direction: 1 MiB. */
    public static final int DEFAULT_MAX_FRAME_BYTES = 1 << 20;

    /** A varint32 is at most five bytes. */
    public static final int MAX_PREFIX_BYTES = 5;

    private Frames() {
    }

    /** Writes one frame; the caller flushes. */
    public static void write(OutputStream out, MessageLite message) throws IOException {
        int size = message.getSerializedSize();
        byte[] frame = new byte[CodedOutputStream.computeUInt32SizeNoTag(size) + size];
        CodedOutputStream coded = CodedOutputStream.newInstance(frame);
        coded.writeUInt32NoTag(size);
        message.writeTo(coded);
        coded.checkNoSpaceLeft();
        out.write(frame);
    }

    /** Encodes one frame to bytes. */
    public static byte[] encode(MessageLite message) {
        int size = message.getSerializedSize();
        byte[] frame = new byte[CodedOutputStream.computeUInt32SizeNoTag(size) + size];
        CodedOutputStream coded = CodedOutputStream.newInstance(frame);
        try {
            coded.writeUInt32NoTag(size);
            message.writeTo(coded);
        } catch (IOException e) {
            throw new IllegalStateException("writing to a byte array cannot fail", e);
        }
        return frame;
    }

    /**
     * Reads the body of one frame.
     *
     * @return the frame body, or {@code null} on a clean end of stream before the first byte
     * @throws FrameTooLargeException when the announced length exceeds {@code maxFrameBytes}
     * @throws EOFException when the stream ends inside a frame
     */
    public static byte[] read(InputStream in, int maxFrameBytes) throws IOException {
        int length = 0;
        for (int shift = 0; ; shift += 7) {
            int b = in.read();
            if (b < 0) {
                if (shift == 0) {
                    return null;
                }
                throw new EOFException("stream ended inside a frame length");
            }
            if (shift == 28 && (b & 0xF0) != 0) {
                throw new FrameTooLargeException(Long.MAX_VALUE, maxFrameBytes);
            }
            length |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                break;
            }
        }
        if (length < 0 || length > maxFrameBytes) {
            throw new FrameTooLargeException(length & 0xFFFFFFFFL, maxFrameBytes);
        }
        byte[] body = new byte[length];
        int off = 0;
        while (off < length) {
            int n = in.read(body, off, length - off);
            if (n < 0) {
                throw new EOFException("stream ended inside a frame body (" + off + " of " + length + " bytes)");
            }
            off += n;
        }
        return body;
    }
}
