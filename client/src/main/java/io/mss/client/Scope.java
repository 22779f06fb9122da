package io.mss.client;

/**
 * Which timeline a {@link SyncMessage} belongs to, next to its bizType. Ids only grow within
 * one scope, and acks and sync points are tracked per scope.
 */
public enum Scope {
    /** Owned by the signed-in user: follows the user across devices. */
    USER,
    /** Owned by this device, whoever is signed in. */
    DEVICE,
    /** One timeline shared by every device. */
    GLOBAL
}
