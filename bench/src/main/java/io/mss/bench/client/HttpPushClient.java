package io.mss.bench.client;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;

/**
 * The business server's side of the push API: a fixed pool of keep-alive HTTP/1.1 connections, one
 * request at a time on each, requests queued until a connection is free. Netty, because the JDK
 * HttpClient held single pushes to about 1,000 per second here while the server answered 4,000+
 * (measured with curl), and the load generator must not be what is measured.
 */
public final class HttpPushClient implements AutoCloseable {
    private final ClientLoop loop;
    private final InetSocketAddress server;
    private final String authorization;
    private final Deque<Connection> idle = new ArrayDeque<>();
    private final Deque<Request> queue = new ArrayDeque<>();
    private final int size;
    private int opened;

    public HttpPushClient(ClientLoop loop, InetSocketAddress server, String apiKey, int connections) {
        this.loop = loop;
        this.server = server;
        this.authorization = "Bearer " + apiKey;
        this.size = connections;
    }

    /** A response: status code and body. */
    public record Answer(int status, String body) {
    }

    private record Request(String path, byte[] json, CompletableFuture<Answer> answer) {
    }

    public CompletableFuture<Answer> post(String path, String json) {
        Request request = new Request(path, json.getBytes(StandardCharsets.UTF_8), new CompletableFuture<>());
        Connection free;
        synchronized (this) {
            free = idle.pollFirst();
            if (free == null) {
                queue.addLast(request);
                if (opened < size) {
                    opened++;
                    open();
                }
                return request.answer;
            }
        }
        free.send(request);
        return request.answer;
    }

    private void open() {
        Connection connection = new Connection();
        loop.bootstrap().handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(16 << 20), connection);
            }
        }).connect(server).addListener((io.netty.channel.ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                // the connect promise completes before channelActive runs
                connection.channel = f.channel();
                released(connection);
            } else {
                synchronized (this) {
                    opened--;
                    Request waiting = queue.pollFirst();
                    if (waiting != null) {
                        waiting.answer.completeExceptionally(f.cause());
                    }
                }
            }
        });
    }

    /** A connection is free: it takes the next queued request, or waits in the idle pool. */
    private void released(Connection connection) {
        Request next;
        synchronized (this) {
            next = queue.pollFirst();
            if (next == null) {
                idle.addLast(connection);
                return;
            }
        }
        connection.send(next);
    }

    @Override
    public synchronized void close() {
        idle.forEach(c -> c.channel.close());
    }

    private final class Connection extends SimpleChannelInboundHandler<FullHttpResponse> {
        private volatile Channel channel;
        private volatile Request current;

        void send(Request request) {
            current = request;
            FullHttpRequest http = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, request.path,
                    Unpooled.wrappedBuffer(request.json));
            http.headers().set(HttpHeaderNames.HOST, server.getHostString() + ":" + server.getPort())
                    .set(HttpHeaderNames.AUTHORIZATION, authorization)
                    .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .set(HttpHeaderNames.CONTENT_LENGTH, request.json.length)
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            channel.writeAndFlush(http).addListener(f -> {
                if (!f.isSuccess()) {
                    fail(f.cause());
                }
            });
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
            Request done = current;
            current = null;
            Answer answer = new Answer(response.status().code(), response.content().toString(StandardCharsets.UTF_8));
            released(this);
            if (done != null) {
                done.answer.complete(answer);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            fail(new IllegalStateException("push API connection closed"));
            synchronized (HttpPushClient.this) {
                idle.remove(this);
                opened--;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(cause);
            ctx.close();
        }

        private void fail(Throwable cause) {
            Request failed = current;
            current = null;
            if (failed != null) {
                failed.answer.completeExceptionally(cause);
            }
        }
    }
}
