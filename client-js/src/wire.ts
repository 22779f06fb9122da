/** Frames on the WebSocket: one protobuf ClientFrame / ServerFrame per binary message, no length prefix. */
import { protoInt64 } from "@bufbuild/protobuf";
import { Ack, ClientFrame, ErrorCode, Hello, Ping, ScopeKind, ServerFrame, SyncPoint, UpstreamMessage } from "./gen/mss_pb.js";
import type { ScopeName } from "./storage.js";

export { ServerFrame, ScopeKind };
export const PROTOCOL_MIN = 1;
export const PROTOCOL_MAX = 2;

export interface WirePoint {
  bizType: string;
  scope: ScopeName;
  id: number;
  epoch: number;
}

export function scopeName(kind: ScopeKind): ScopeName {
  return kind === ScopeKind.USER ? "USER" : kind === ScopeKind.DEVICE ? "DEVICE" : "GLOBAL";
}

function point(p: WirePoint): SyncPoint {
  return new SyncPoint({ bizType: p.bizType, scope: ScopeKind[p.scope], id: protoInt64.uParse(p.id),
    epoch: protoInt64.uParse(p.epoch) });
}

export function hello(fields: { token: string; deviceId: string; osType: string; appVersion: string;
  bizTypes: string[]; syncPoints: WirePoint[]; userId: string; sessionId: string }): Uint8Array {
  return new ClientFrame({ kind: { case: "hello", value: new Hello({
    minVersion: PROTOCOL_MIN, maxVersion: PROTOCOL_MAX, token: fields.token, deviceId: fields.deviceId,
    osType: fields.osType, appVersion: fields.appVersion, bizTypes: fields.bizTypes,
    syncPoints: fields.syncPoints.map(point), userId: fields.userId, sessionId: fields.sessionId,
  }) } }).toBinary();
}

export function ack(points: WirePoint[]): Uint8Array {
  return new ClientFrame({ kind: { case: "ack", value: new Ack({ syncPoints: points.map(point) }) } }).toBinary();
}

export function ping(now: number): Uint8Array {
  return new ClientFrame({ kind: { case: "ping", value: new Ping({ timestamp: protoInt64.parse(now) }) } }).toBinary();
}

export function upstream(clientMsgId: string, bizType: string, payload: string): Uint8Array {
  return new ClientFrame({ kind: { case: "upstream", value: new UpstreamMessage({ clientMsgId, bizType, payload }) } })
    .toBinary();
}

export function decode(data: Uint8Array): ServerFrame {
  return ServerFrame.fromBinary(data);
}

export function errorCodeName(code: ErrorCode): string {
  return ErrorCode[code] ?? "ERROR_" + code;
}
