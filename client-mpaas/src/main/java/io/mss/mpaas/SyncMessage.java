package io.mss.mpaas;

/**
 * A message as mPaaS hands it to {@link ISyncCallback}: public fields, the payload inside
 * {@link #msgData}. Pass it back unchanged to {@link MPSync#reportMsgReceived}.
 */
public final class SyncMessage {
    /** The user the message is for; null for DEVICE and GLOBAL bizTypes. */
    public String userId;
    /** The bizType. */
    public String biz;
    /**
     * A JSON array of records, {@code [{"mk":<oplog id>,"pl":"<payload>"}]}, the shape mPaaS
     * apps parse: each record's {@code pl} is the payload, base64 only when the record has
     * {@code "isB":"1"}, which MSS never sets (its payloads are text). {@code mk} is this
     * facade's own key for the oplog id (docs/migrating-from-mpaas.md says what is assumed).
     * MSS delivers one oplog per callback, so the array has one record.
     */
    public String msgData;
    /** Identifies the message for the ack: {@code bizType,SCOPE,oplogId}. */
    public String id;
    /** Always false: MSS never splits one callback's data over several messages. */
    public boolean hasMore;

    /** The SDK's message behind it, for the ack. */
    final io.mss.client.SyncMessage source;

    SyncMessage(io.mss.client.SyncMessage source) {
        this.source = source;
        this.userId = source.userId();
        this.biz = source.bizType();
        this.msgData = msgData(source.id(), source.payload());
        this.id = source.bizType() + ',' + source.scope() + ',' + source.id();
        this.hasMore = false;
    }

    static String msgData(long oplogId, String payload) {
        StringBuilder json = new StringBuilder(payload.length() + 32);
        json.append("[{\"mk\":").append(oplogId).append(",\"pl\":\"");
        for (int i = 0; i < payload.length(); i++) {
            char c = payload.charAt(i);
            switch (c) {
                case '"':
                    json.append("\\\"");
                    break;
                case '\\':
                    json.append("\\\\");
                    break;
                case '\n':
                    json.append("\\n");
                    break;
                case '\r':
                    json.append("\\r");
                    break;
                case '\t':
                    json.append("\\t");
                    break;
                default:
                    if (c < 0x20 || c == '\u2028' || c == '\u2029') {
                        json.append(String.format("\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
            }
        }
        return json.append("\"}]").toString();
    }

    @Override
    public String toString() {
        return "SyncMessage{biz=" + biz + ", id=" + id + ", userId=" + userId + '}';
    }
}
