package io.mss.client.internal;

import io.mss.client.Scope;

import java.util.Objects;

/**
 * The signed-in user, in two copies: {@link #dispatchUser}, written on the app's thread the moment
 * it calls updateUserInfo or clearUserInfo, and the state thread's {@link #userId}, which follows
 * once the change got there. A USER message already handed to the callback executor is checked
 * against the first right before its callback runs, so that it never reaches the app after the
 * app switched users; the second decides what the next Hello says.
 */
final class UserSwitch {
    /** Told on the state thread when the user or the user's session changed. */
    interface Listener {
        /** @param userChanged false when only the session id changed */
        void userChanged(String reason, boolean userChanged);
    }

    private final StateLoop loop;
    private final Listener listener;
    /** Keeps dispatchUser and the order of posted changes in step. */
    private final Object lock = new Object();
    private volatile String dispatchUser;
    // state thread
    private String userId;
    private String sessionId = "";

    UserSwitch(StateLoop loop, Listener listener) {
        this.loop = loop;
        this.listener = listener;
    }

    /** Any thread: null signs out. */
    void request(String newUserId, String newSessionId) {
        synchronized (lock) {
            dispatchUser = newUserId;
            loop.post(() -> apply(newUserId, newSessionId));
        }
    }

    private void apply(String newUserId, String newSessionId) {
        loop.checkThread();
        boolean userChanged = !Objects.equals(userId, newUserId);
        if (!userChanged && newSessionId.equals(sessionId)) {
            return;
        }
        userId = newUserId;
        sessionId = newSessionId;
        listener.userChanged(newUserId == null ? "user signed out" : userChanged ? "user changed"
                : "user session changed", userChanged);
    }

    /** The user the state thread acts for; null when signed out. */
    String userId() {
        loop.checkThread();
        return userId;
    }

    String sessionId() {
        loop.checkThread();
        return sessionId;
    }

    /** State thread: the scope's messages may go to the app now, also given a switch still on its way. */
    boolean deliverable(ScopeKey key) {
        return key.visibleTo(userId()) && key.visibleTo(dispatchUser);
    }

    /** Any thread, right before a callback: whether the app still has the scope's user signed in. */
    boolean stillSignedIn(ScopeKey key) {
        return key.scope() != Scope.USER || key.owner().equals(dispatchUser);
    }

    /** Any thread: the check an ephemeral message passes right before its callback. */
    boolean visibleToApp(ScopeKey key) {
        return key.visibleTo(dispatchUser);
    }
}
