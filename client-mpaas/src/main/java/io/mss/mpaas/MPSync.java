package io.mss.mpaas;

import io.mss.client.MessageCallback;
import io.mss.client.MssClient;

import java.util.Objects;

/**
 * mPaaS's {@code MPSync} entry points over one {@link MssClient}, so that an app coming from
 * mPaaS MSS keeps its calls and changes its imports. The one addition: {@link #configure} says
 * which server to use and how to get tokens, where mPaaS read its own configuration file. Call it
 * before {@link #setup}; every other method behaves as its mPaaS namesake, mapped as
 * docs/migrating-from-mpaas.md says.
 *
 * <p>Thread-safe: the static methods may be called from any thread; callbacks run on the SDK's
 * callback executor.
 */
public final class MPSync {
    private static final Object LOCK = new Object();
    private static MssClient.Builder builder;
    private static volatile MssClient client;

    private MPSync() {
    }

    /**
     * The server, trust, deviceId, token provider and state directory, as on
     * {@link MssClient#builder()}. The facade turns automatic acks off: mPaaS apps call
     * {@link #reportMsgReceived}.
     */
    public static void configure(MssClient.Builder clientBuilder) {
        synchronized (LOCK) {
            builder = Objects.requireNonNull(clientBuilder, "clientBuilder").autoAck(false);
        }
    }

    /**
     * Creates the client from {@link #configure}'s builder; a second call is a no-op.
     *
     * @param application the Android {@code Application} in mPaaS; not used here
     */
    public static void setup(Object application) {
        synchronized (LOCK) {
            if (client != null) {
                return;
            }
            if (builder == null) {
                throw new IllegalStateException("call MPSync.configure(MssClient.builder()...) before MPSync.setup");
            }
            client = builder.build();
        }
    }

    /**
     * mPaaS starts its sync service here; MSS's client is ready after {@link #setup}, so this only
     * checks that it was.
     *
     * @param context the Android {@code Context} in mPaaS; not used here
     */
    public static void initialize(Object context) {
        require();
    }

    /** Connects (and keeps reconnecting) while the app is in the foreground. */
    public static void appToForeground() {
        require().appToForeground();
    }

    /** Disconnects; what was stored stays in the inbox. */
    public static void appToBackground() {
        require().appToBackground();
    }

    /** Signs a user in (or switches users); USER bizTypes follow this user. */
    public static void updateUserInfo(String userId, String sessionId) {
        require().updateUserInfo(userId, sessionId == null ? "" : sessionId);
    }

    /** Signs the user out: USER messages stop, DEVICE and GLOBAL ones go on. */
    public static void clearUserInfo() {
        require().clearUserInfo();
    }

    public static void registerBiz(String bizType, ISyncCallback callback) {
        Objects.requireNonNull(callback, "callback");
        require().registerBiz(bizType, new Adapter(callback));
    }

    public static void unregisterBiz(String bizType) {
        require().unregisterBiz(bizType);
    }

    /** The app handled the message: it leaves the inbox and is never delivered again. */
    public static void reportMsgReceived(SyncMessage message) {
        Objects.requireNonNull(message, "message");
        require().reportMsgReceived(message.source);
    }

    public static boolean isConnected() {
        MssClient c = client;
        return c != null && c.isConnected();
    }

    /** The client behind the facade, for what mPaaS had no call for (upstream, listeners, FULL_UPDATE). */
    public static MssClient client() {
        return require();
    }

    /**
     * Not in mPaaS: closes the client (sync points and acks saved) so that {@link #configure} and
     * {@link #setup} can start over, e.g. between tests.
     */
    public static void close() {
        MssClient c;
        synchronized (LOCK) {
            c = client;
            client = null;
            builder = null;
        }
        if (c != null) {
            c.close();
        }
    }

    private static MssClient require() {
        MssClient c = client;
        if (c == null) {
            throw new IllegalStateException("MPSync.setup has not been called");
        }
        return c;
    }

    /** One mPaaS callback as an MSS one. */
    private static final class Adapter implements MessageCallback {
        private final ISyncCallback callback;

        Adapter(ISyncCallback callback) {
            this.callback = callback;
        }

        @Override
        public void onMessage(io.mss.client.SyncMessage message) {
            callback.onReceiveMessage(new SyncMessage(message));
        }
    }
}
