/**
 * Implementation of the MSS client SDK. Not an API: public only so that
 * {@code io.mss.client.MssClient.Builder} can reach it.
 */
package io.mss.client.internal;
