// kernel_ws_v1.mjs — the `v1.kernel.websocket.jupyter.org` websocket protocol, for a client that
// only speaks the legacy one.
//
// @jupyterlab/services 6.6.8 (JupyterLab 3.6) opens a kernel's websocket without asking for a
// subprotocol, so jupyter_server falls back to the legacy protocol: JSON text frames, whole
// messages that the server has parsed and written again. JupyterLab 4 asks for
// `v1.kernel.websocket.jupyter.org`, and then the server passes the kernel's own bytes through
// untouched. To put the kernel's bytes in front of JupyterLab's messaging code, the socket class
// below asks for v1 and translates each frame to and from the legacy form the services expect.
// It also inspects every frame it receives (`stats`), so the test can say what crossed the wire.
//
// A v1 frame (binary; all integers unsigned 64-bit little-endian):
//   n | offset[0] .. offset[n-1] | channel | header | parent_header | metadata | content | buffers…
// offset[0] is where the channel name starts, offset[i] (i >= 1) where part i-1 ends; so there are
// n - 2 parts: the four JSON parts, then any binary buffers.
//
// A legacy frame is the message as JSON text with a "channel" key, or, when it has buffers, a
// binary frame: count (uint32 big-endian), that many offsets (uint32 big-endian; the first is the
// JSON's), the JSON, then the buffers.

import WebSocket from 'ws';

export const V1_PROTOCOL = 'v1.kernel.websocket.jupyter.org';

const PART_NAMES = ['header', 'parent_header', 'metadata', 'content'];
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------------------------------------
// v1 frames

// Splits a v1 frame into its channel, JSON parts (parsed) and buffers; throws on anything that
// does not follow the format, naming what is wrong.
export function decodeV1(frame) {
  const bytes = new Uint8Array(frame);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const word = (i) => {
    if (8 * (i + 1) > bytes.length) throw new Error(`frame of ${bytes.length} bytes ends inside its offset table`);
    return Number(view.getBigUint64(8 * i, true));
  };
  const count = word(0);
  if (count < 2 + PART_NAMES.length) throw new Error(`frame has ${count} offsets: fewer than channel + 4 parts`);
  const offsets = [];
  for (let i = 1; i <= count; i++) offsets.push(word(i));
  if (offsets[0] !== 8 * (count + 1)) throw new Error(`channel starts at ${offsets[0]}, not after the offset table (${8 * (count + 1)})`);
  for (let i = 1; i < count; i++) {
    if (offsets[i] < offsets[i - 1]) throw new Error(`offset ${i} (${offsets[i]}) goes backwards`);
  }
  if (offsets[count - 1] !== bytes.length) {
    throw new Error(`last offset ${offsets[count - 1]} is not the frame's length ${bytes.length}`);
  }
  const slice = (i) => bytes.subarray(offsets[i], offsets[i + 1]);
  const channel = decoder.decode(slice(0));
  const msg = { channel };
  PART_NAMES.forEach((name, k) => {
    const text = decoder.decode(slice(k + 1));
    try {
      msg[name] = JSON.parse(text);
    } catch (err) {
      throw new Error(`${channel} ${name} is not JSON (${err.message}): ${text.slice(0, 200)}`);
    }
  });
  msg.buffers = [];
  for (let i = 1 + PART_NAMES.length; i < count - 1; i++) msg.buffers.push(slice(i).slice());
  return msg;
}

// Packs a message ({channel, header, parent_header, metadata, content, buffers}) as a v1 frame.
export function encodeV1(msg) {
  const parts = [encoder.encode(msg.channel), ...PART_NAMES.map((name) => encoder.encode(JSON.stringify(msg[name] ?? {})))];
  for (const buffer of msg.buffers || []) parts.push(asBytes(buffer));
  const count = parts.length + 1;
  const tableSize = 8 * (count + 1);
  const total = parts.reduce((sum, part) => sum + part.length, tableSize);
  const frame = new Uint8Array(total);
  const view = new DataView(frame.buffer);
  view.setBigUint64(0, BigInt(count), true);
  let at = tableSize;
  view.setBigUint64(8, BigInt(at), true);
  parts.forEach((part, i) => {
    frame.set(part, at);
    at += part.length;
    view.setBigUint64(8 * (i + 2), BigInt(at), true);
  });
  return frame.buffer;
}

// ---------------------------------------------------------------------------------------------
// legacy frames

export function decodeLegacy(data) {
  if (typeof data === 'string') return { buffers: [], ...JSON.parse(data) };
  const bytes = new Uint8Array(data);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0);
  const offsets = [];
  for (let i = 1; i <= count; i++) offsets.push(view.getUint32(4 * i));
  offsets.push(bytes.length);
  const msg = JSON.parse(decoder.decode(bytes.subarray(offsets[0], offsets[1])));
  msg.buffers = [];
  for (let i = 1; i < count; i++) msg.buffers.push(bytes.slice(offsets[i], offsets[i + 1]));
  return msg;
}

export function encodeLegacy(msg) {
  if (!msg.buffers || msg.buffers.length === 0) {
    const { buffers, ...rest } = msg;
    return JSON.stringify(rest);
  }
  const { buffers, ...rest } = msg;
  const parts = [encoder.encode(JSON.stringify(rest)), ...buffers.map(asBytes)];
  const tableSize = 4 * (parts.length + 1);
  const frame = new Uint8Array(parts.reduce((sum, part) => sum + part.length, tableSize));
  const view = new DataView(frame.buffer);
  view.setUint32(0, parts.length);
  let at = tableSize;
  parts.forEach((part, i) => {
    view.setUint32(4 * (i + 1), at);
    frame.set(part, at);
    at += part.length;
  });
  return frame.buffer;
}

function asBytes(buffer) {
  if (buffer instanceof Uint8Array) return buffer;
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  return new Uint8Array(buffer);
}

// ---------------------------------------------------------------------------------------------
// Sockets

// Every kernel websocket the services open, whichever class, for the test to look at afterwards.
export const openedSockets = [];

// What the test wants to know about the frames a socket received.
function newStats() {
  return {
    frames: 0, binaryFrames: 0, textFrames: 0, withBuffers: 0, sentWithBuffers: 0,
    channels: new Set(), malformed: [], messages: [],
  };
}

// The legacy protocol, as JupyterLab 3.6 speaks it; only remembered, not changed.
export class LegacySocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    this.stats = newStats();
    openedSockets.push(this);
    this.on('message', (data) => {
      this.stats.frames++;
      if (typeof data === 'string') this.stats.textFrames++;
      else this.stats.binaryFrames++;
    });
  }
}

// Asks for v1; once the server has agreed, translates each frame. If the server picks the
// legacy protocol instead, frames pass through as they are (and the test sees `protocol` empty).
export class V1Socket extends WebSocket {
  constructor(url) {
    super(url, [V1_PROTOCOL]);
    this.stats = newStats();
    openedSockets.push(this);
  }

  get speaksV1() {
    return this.protocol === V1_PROTOCOL;
  }

  set onmessage(handler) {
    super.onmessage = handler && ((event) => {
      const data = this.speaksV1 ? this.fromV1(event.data) : event.data;
      if (data !== null) handler.call(this, { type: 'message', target: this, data });
    });
  }

  get onmessage() {
    return super.onmessage;
  }

  send(data, ...rest) {
    if (!this.speaksV1) return super.send(data, ...rest);
    const msg = decodeLegacy(data);
    if (msg.buffers.length) this.stats.sentWithBuffers++;
    return super.send(encodeV1(msg), ...rest);
  }

  // One received v1 frame as the legacy frame the services understand; null (dropped, and
  // recorded as malformed) when it breaks the format.
  fromV1(data) {
    const stats = this.stats;
    stats.frames++;
    if (typeof data === 'string') {
      stats.textFrames++;
      stats.malformed.push(`a text frame on a v1 socket: ${data.slice(0, 200)}`);
      return null;
    }
    stats.binaryFrames++;
    let msg;
    try {
      msg = decodeV1(data);
    } catch (err) {
      stats.malformed.push(err.message);
      return null;
    }
    stats.channels.add(msg.channel);
    if (msg.buffers.length) stats.withBuffers++;
    stats.messages.push({ channel: msg.channel, header: msg.header, parent_header: msg.parent_header });
    return encodeLegacy(msg);
  }
}
