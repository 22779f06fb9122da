package io.mss.client.internal;

import io.mss.protocol.FrameTooLargeException;
import io.mss.protocol.Frames;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ServerFrame;

import com.google.protobuf.InvalidProtocolBufferException;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import javax.net.ssl.SSLSocket;

/**
 * One connection attempt and, if it succeeds, the connection. Its own thread gets the token,
 * connects, handshakes and then reads frames; the state thread does all writes via
 * {@link #send} and reads the fields marked "state thread".
 */
final class Connection implements Runnable {
    /** Called on the connection thread; implementations hand over to the state thread. */
    interface Events {
        void onOpen(Connection c, String token);

        void onFrame(Connection c, ServerFrame frame);

        void onClosed(Connection c, String reason);
    }

    final int id;
    /** The user the token was requested for and the Hello's USER sync points belong to. */
    final String userId;

    private final ClientConfig config;
    private final Tls tls;
    private final Events events;

    // state thread
    boolean helloSent;
    boolean welcomed;
    /** The protocol version the server chose in its Welcome; epochs need {@code ProtocolVersion.EPOCHS}. */
    int version;
    String sessionId;
    /** The user the server says this session is for (the token's sub); owns USER batches. */
    String sessionUserId;

    private final Object lock = new Object();
    private Socket raw;
    private boolean aborted;
    private volatile OutputStream out;

    Connection(int id, String userId, ClientConfig config, Tls tls, Events events) {
        this.id = id;
        this.userId = userId;
        this.config = config;
        this.tls = tls;
        this.events = events;
    }

    void start() {
        Thread t = new Thread(this, "mss-client-reader-" + id);
        t.setDaemon(true);
        t.start();
    }

    /** Writes one frame. State thread only, so writes never interleave. */
    void send(ClientFrame frame) throws IOException {
        OutputStream o = out;
        if (o == null) {
            throw new IOException("connection is not open");
        }
        Frames.write(o, frame);
        o.flush();
    }

    /**
     * Ends the connection from any thread. Closes the plain TCP socket under the TLS layer:
     * that unblocks a reader or writer at once, where closing the SSLSocket might itself block
     * trying to send close_notify.
     */
    void abort() {
        Socket s;
        synchronized (lock) {
            aborted = true;
            s = raw;
        }
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing is best effort; the socket is unusable either way
            }
        }
    }

    @Override
    public void run() {
        String reason;
        try {
            reason = connectAndRead();
        } catch (SocketTimeoutException e) {
            reason = "read timed out";
        } catch (FrameTooLargeException e) {
            reason = "server sent a frame too large: " + e.getMessage();
        } catch (InvalidProtocolBufferException e) {
            reason = "server sent an undecodable frame: " + e.getMessage();
        } catch (Throwable e) {
            // whatever went wrong, the state thread must hear that this connection is over
            reason = e.toString();
        } finally {
            abort();
        }
        events.onClosed(this, reason);
    }

    private String connectAndRead() throws IOException {
        String token;
        try {
            token = config.tokenProvider.token(config.deviceId, userId);
        } catch (Exception e) {
            return "token provider failed: " + e;
        }
        if (token == null) {
            return "token provider returned null";
        }
        Socket socket = new Socket();
        synchronized (lock) {
            if (aborted) {
                return "aborted";
            }
            raw = socket;
        }
        socket.connect(new InetSocketAddress(config.host, config.port), config.connectTimeoutMillis);
        socket.setTcpNoDelay(true);
        // bounds the TLS handshake and the wait for Welcome; the heartbeat bound replaces it later
        socket.setSoTimeout(config.connectTimeoutMillis);
        SSLSocket ssl = (SSLSocket) tls.factory.createSocket(socket, config.host, config.port, true);
        tls.handshake(ssl);
        out = ssl.getOutputStream();
        InputStream in = new BufferedInputStream(ssl.getInputStream());
        events.onOpen(this, token);

        boolean sawWelcome = false;
        long idleMillis = 0;
        while (true) {
            byte[] body;
            try {
                body = Frames.read(in, config.maxFrameBytes);
            } catch (SocketTimeoutException e) {
                return sawWelcome
                        ? "heartbeat timeout: nothing received for " + idleMillis + " ms"
                        : "no Welcome within " + config.connectTimeoutMillis + " ms";
            }
            if (body == null) {
                return "connection closed by server";
            }
            ServerFrame frame = ServerFrame.parseFrom(body);
            if (frame.hasWelcome() && !sawWelcome) {
                sawWelcome = true;
                idleMillis = RealMssClient.heartbeatMillis(frame.getWelcome()) * 5 / 2;
                // the read timeout is the dead-peer detector: any frame, Pong or data, resets it
                socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, idleMillis));
            }
            events.onFrame(this, frame);
        }
    }

    @Override
    public String toString() {
        return "connection " + id;
    }
}
