#!/usr/bin/node
// A plugvisor plugin in plain Node.js, written from protocol/PROTOCOL.md alone.
// Every task is answered by echoing its content back, whatever its id, as the
// echo plugin in the document's control examples answers task 7.
'use strict';

const net = require('net');

const DEFAULT_MAX_FRAME = 4194304; // PROTOCOL.md §3: the limit unless welcome says otherwise
const MAX_DEPTH = 33;              // the message map plus 32 levels inside it (§4, §10)

const log = (...a) => console.error('echo.js:', ...a); // stderr is the operator's log

// ---- msgpack: only what protocol v1 carries, but able to skip anything ----

function pack(v) {
  const out = [];
  const u8 = (b) => out.push(Buffer.from([b]));
  const be = (bytes, n) => { const b = Buffer.alloc(bytes); b.writeUIntBE(n, 0, bytes); out.push(b); };
  const put = (v) => {
    if (v === null || v === undefined) return u8(0xc0);
    if (typeof v === 'boolean') return u8(v ? 0xc3 : 0xc2);
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new Error('only integers are sent: ' + v);
      v = BigInt(v);
    }
    if (typeof v === 'bigint') {
      // Shortest encodings, as plugvisor writes them (§4), so our frames read like its examples.
      if (v >= 0n) {
        if (v < 0x80n) return u8(Number(v));
        if (v <= 0xffn) { u8(0xcc); return u8(Number(v)); }
        if (v <= 0xffffn) { u8(0xcd); return be(2, Number(v)); }
        if (v <= 0xffffffffn) { u8(0xce); return be(4, Number(v)); }
        const b = Buffer.alloc(9); b[0] = 0xcf; b.writeBigUInt64BE(v, 1); return out.push(b);
      }
      if (v >= -32n) return u8(Number(v) & 0xff);
      for (const [tag, n] of [[0xd0, 1], [0xd1, 2], [0xd2, 4]]) {
        if (v >= -(2n ** BigInt(8 * n - 1))) { const b = Buffer.alloc(1 + n); b[0] = tag; b.writeIntBE(Number(v), 1, n); return out.push(b); }
      }
      const b = Buffer.alloc(9); b[0] = 0xd3; b.writeBigInt64BE(v, 1); return out.push(b);
    }
    if (typeof v === 'string') {
      const s = Buffer.from(v, 'utf8');
      if (s.length < 32) u8(0xa0 | s.length);
      else if (s.length <= 0xff) { u8(0xd9); u8(s.length); }
      else if (s.length <= 0xffff) { u8(0xda); be(2, s.length); }
      else { u8(0xdb); be(4, s.length); }
      return out.push(s);
    }
    if (Array.isArray(v)) {
      if (v.length < 16) u8(0x90 | v.length);
      else if (v.length <= 0xffff) { u8(0xdc); be(2, v.length); }
      else { u8(0xdd); be(4, v.length); }
      return v.forEach(put);
    }
    if (typeof v === 'object') {
      const keys = Object.keys(v);
      if (keys.length < 16) u8(0x80 | keys.length);
      else if (keys.length <= 0xffff) { u8(0xde); be(2, keys.length); }
      else { u8(0xdf); be(4, keys.length); }
      return keys.forEach((k) => { put(k); put(v[k]); });
    }
    throw new Error('cannot pack ' + typeof v);
  };
  put(v);
  return Buffer.concat(out);
}

class Malformed extends Error {}

// unpack decodes exactly one map filling buf. Integers beyond 2^53 come back
// as BigInt so that a ping's seq and time are echoed bit for bit; str is a
// JS string and bin a Buffer, so a field can tell the two apart (§4: bin is
// not str). Every length is checked against the bytes left before use.
function unpack(buf) {
  let pos = 0;
  const need = (n) => { if (n > buf.length - pos) throw new Malformed(`length ${n} at byte ${pos} runs past the payload`); };
  const take = (n) => { need(n); const s = buf.subarray(pos, pos + n); pos += n; return s; };
  const uint = (n) => { need(n); const b = buf.subarray(pos, pos += n); return n === 8 ? big(b.readBigUInt64BE(0)) : b.readUIntBE(0, n); };
  const int = (n) => { need(n); const b = buf.subarray(pos, pos += n); return n === 8 ? big(b.readBigInt64BE(0)) : b.readIntBE(0, n); };
  const big = (b) => (b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);
  const str = (n) => take(n).toString('utf8');
  const arr = (n, d) => { need(n); const a = []; for (let i = 0; i < n; i++) a.push(val(d)); return a; };
  const map = (n, d) => {
    need(2 * n); // every entry takes at least two bytes: a count cannot promise more than is there
    const m = Object.create(null);
    for (let i = 0; i < n; i++) {
      const at = pos, k = val(d);
      if (typeof k !== 'string') throw new Malformed(`a map key must be a str, at byte ${at}`);
      const v = val(d);
      if (!(k === 'kind' && k in m)) m[k] = v; // §4: the first kind decides, the last of any other key wins
    }
    return m;
  };
  const val = (d) => {
    const t = uint(1);
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 0x100;
    if ((t & 0xe0) === 0xa0) return str(t & 0x1f);
    if ((t & 0xf0) === 0x90 || (t & 0xf0) === 0x80 || t === 0xdc || t === 0xdd || t === 0xde || t === 0xdf) {
      if (d + 1 > MAX_DEPTH) throw new Malformed(`values nest deeper than ${MAX_DEPTH} at byte ${pos - 1}`);
      if ((t & 0xf0) === 0x90) return arr(t & 0x0f, d + 1);
      if ((t & 0xf0) === 0x80) return map(t & 0x0f, d + 1);
      const n = uint(t === 0xdc || t === 0xde ? 2 : 4);
      return t <= 0xdd ? arr(n, d + 1) : map(n, d + 1);
    }
    switch (t) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return take(uint(1)); case 0xc5: return take(uint(2)); case 0xc6: return take(uint(4));
      case 0xc7: return take(uint(1) + 1); case 0xc8: return take(uint(2) + 1); case 0xc9: return take(uint(4) + 1);
      case 0xca: need(4); pos += 4; return buf.readFloatBE(pos - 4);
      case 0xcb: need(8); pos += 8; return buf.readDoubleBE(pos - 8);
      case 0xcc: return uint(1); case 0xcd: return uint(2); case 0xce: return uint(4); case 0xcf: return uint(8);
      case 0xd0: return int(1); case 0xd1: return int(2); case 0xd2: return int(4); case 0xd3: return int(8);
      case 0xd4: return take(2); case 0xd5: return take(3); case 0xd6: return take(5);
      case 0xd7: return take(9); case 0xd8: return take(17);
      case 0xd9: return str(uint(1)); case 0xda: return str(uint(2)); case 0xdb: return str(uint(4));
    }
    throw new Malformed(`byte 0x${t.toString(16)} at ${pos - 1} is not msgpack`); // 0xc1: never used
  };
  const first = buf[0];
  if (!((first & 0xf0) === 0x80 || first === 0xde || first === 0xdf)) throw new Malformed('a message must be a msgpack map');
  const m = val(0);
  if (pos !== buf.length) throw new Malformed(`the message ends at byte ${pos} but the payload has ${buf.length - pos} more`);
  return m;
}

// ---- field checks for the messages a plugin receives (§5) ----

const isUint = (v, max) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max) ||
  (typeof v === 'bigint' && v >= 0n && v <= BigInt(max));
const isInt = (v) => (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'bigint' && v >= -(2n ** 63n) && v < 2n ** 63n);
const optStr = (v) => v === null || v === undefined || typeof v === 'string';
const U16 = 0xffff, U32 = 0xffffffff, U64 = 2n ** 64n - 1n;

const CHECKS = {
  welcome: (m) => isUint(m.protocol, U16) && isUint(m.heartbeat_ms, U32) && optStr(m.supervisor) &&
    (m.max_frame == null || isUint(m.max_frame, U32)),
  reject: (m) => optStr(m.code) && typeof m.reason === 'string' && (m.versions == null || Array.isArray(m.versions)),
  task: (m) => isUint(m.id, U32) && optStr(m.content) && typeof m.token === 'string' && m.token !== '',
  ping: (m) => isUint(m.seq, U64) && (m.time == null || isInt(m.time)),
  pong: (m) => isUint(m.seq, U64) && (m.time == null || isInt(m.time)),
  shutdown: (m) => isUint(m.grace_ms, U32) && optStr(m.reason),
};

// ---- the plugin ----

const socketPath = process.env.PLUGVISOR_SOCKET;
if (!socketPath) {
  // §2: a person started us; there is nothing to serve without a supervisor.
  console.error('echo.js is a plugvisor plugin: configure it as exec = "/path/to/echo.js" and let plugvisor run it');
  process.exit(2);
}

const nowNs = () => BigInt(Date.now()) * 1000000n;
let recvLimit = DEFAULT_MAX_FRAME; // §3: the supervisor never sends more than it announced
let sendLimit = DEFAULT_MAX_FRAME;
let welcomed = false, leaving = false;
let lastHeard = performance.now(), seq = 0n, ticker = null; // monotonic: a clock step is no hang

const sock = net.createConnection({ path: socketPath });

function send(msg) {
  const payload = pack(msg);
  if (payload.length > sendLimit) throw new Error(`a ${msg.kind} of ${payload.length} bytes exceeds max_frame ${sendLimit}`);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length, 0);
  sock.write(Buffer.concat([head, payload])); // Node queues writes, so reading never waits on them (§8)
}

function die(why, code = 1) {
  log(why);
  if (ticker) clearInterval(ticker);
  sock.destroy(); // §11: after a protocol error there is nothing more to say on the wire
  process.exit(code);
}

function reply(token, fields) {
  const rec = { timestamp: nowNs(), token, fields };
  try {
    send({ kind: 'data', records: [rec] });
  } catch (e) {
    // An echo of nearly max_frame bytes cannot fit beside its envelope; still complete the task (§6.4: never silence).
    send({ kind: 'data', records: [{ timestamp: nowNs(), token, fields: { data_type: 'echo', task_status: 'error', error: e.message } }] });
  }
}

function onMessage(m) {
  const kind = m.kind;
  if (typeof kind !== 'string') return die('protocol error: a message without a str kind');
  const check = CHECKS[kind];
  if (!check) return die(`protocol error: "${kind}" is not a kind a supervisor sends`);
  if (!check(m)) return die(`protocol error: a ${kind} with a missing or mistyped field`);
  if (!welcomed) {
    if (kind === 'reject') return die(`rejected (${m.code || 'no code'}): ${m.reason}`);
    if (kind !== 'welcome') return die(`protocol error: ${kind} before welcome`);
    return onWelcome(m);
  }
  switch (kind) {
    case 'ping': return send({ kind: 'pong', seq: m.seq, time: m.time ?? null });
    case 'pong': return; // a sign of life is all we need from it
    case 'task': return onTask(m);
    case 'shutdown': return onShutdown(m);
    default: return die(`protocol error: ${kind} after welcome`);
  }
}

function onWelcome(m) {
  welcomed = true;
  if (m.max_frame) sendLimit = recvLimit = Number(m.max_frame);
  log(`registered with ${m.supervisor || 'a supervisor'}, protocol v${m.protocol}, heartbeat ${m.heartbeat_ms}ms`);
  // What a script sees of itself: plugvisor runs the verified copy, not the configured path (§2).
  send({ kind: 'data', records: [{ timestamp: nowNs(), fields: {
    data_type: 'node', argv1: String(process.argv[1]), filename: __filename,
    argv0: process.argv0, node: process.version, pid: String(process.pid) } }] });
  const every = Number(m.heartbeat_ms);
  if (every === 0) return; // §8: heartbeats are off
  ticker = setInterval(() => {
    const silent = performance.now() - lastHeard;
    if (silent > 3 * every) return die('no frame from the supervisor for three heartbeats: it is hung');
    // §8: the supervisor's pings are the heartbeat; ping only after a silence
    // of one and a half intervals (this timer looks once an interval).
    if (silent >= 1.5 * every) send({ kind: 'ping', seq: ++seq, time: nowNs() });
  }, every);
}

function onTask(m) {
  if (leaving) return; // §9: after shutdown we take no new tasks
  // With every id ours, §6.4's error for an unknown id never applies.
  reply(m.token, { data_type: 'echo', content: m.content || '', task_status: 'ok' });
}

function onShutdown(m) {
  leaving = true;
  if (ticker) clearInterval(ticker);
  log(`shutdown: ${m.reason || 'no reason given'} (grace ${m.grace_ms}ms)`);
  send({ kind: 'goodbye', reason: 'shutdown requested' });
  // end() calls back once the goodbye has reached the kernel: then nothing is lost by exiting.
  sock.end(() => process.exit(0));
}

sock.on('connect', () => {
  const hello = { kind: 'hello', versions: [1], name: process.env.PLUGVISOR_PLUGIN || '',
    version: '0.1.0', pid: process.pid, instance: process.env.PLUGVISOR_INSTANCE || '' };
  send(hello);
});

// Frames arrive split or merged (§3): keep what is read until a whole frame is there.
let pending = Buffer.alloc(0);
sock.on('data', (chunk) => {
  lastHeard = performance.now(); // §8: any frame, or part of one, is a sign of life
  pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
  while (pending.length >= 4 && !leaving) {
    const n = pending.readUInt32BE(0);
    if (n === 0) return die('protocol error: zero-length frame');
    if (n > recvLimit) return die(`protocol error: frame of ${n} bytes exceeds the limit of ${recvLimit}`); // before buffering it
    if (pending.length < 4 + n) return;
    const payload = pending.subarray(4, 4 + n);
    pending = pending.subarray(4 + n);
    let m;
    try { m = unpack(payload); } catch (e) {
      if (e instanceof Malformed || e instanceof RangeError) return die('protocol error: malformed message: ' + e.message);
      throw e;
    }
    onMessage(m);
  }
});

sock.on('end', () => {
  if (leaving) return;
  // §2: the supervisor is gone or gave up on us; a stream cut inside a frame is an error (§3).
  if (pending.length) die(`connection closed inside a frame (${pending.length} bytes pending)`);
  else die('connection closed by the supervisor', 0);
});

sock.on('error', (e) => die(`socket: ${e.message}`));
