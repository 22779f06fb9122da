/**
 * The MSS client SDK: {@link io.mss.client.MssClient} and its value types. Everything in
 * {@code io.mss.client.internal} is implementation and may change without notice.
 */
package io.mss.client;
