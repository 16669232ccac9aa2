/**
 * Validator-to-validator transport: one mutual-TLS 1.3 connection per validator pair over TCP.
 *
 * Authentication. Every validator presents a self-signed certificate whose key is its Ed25519
 * identity key from genesis (`certificate.ts`). OpenSSL checks the CertificateVerify signature in
 * the handshake, which proves the peer holds that key; certificate chains mean nothing here, so
 * chain validation is off and instead, the moment the handshake completes and before a single
 * application byte is read, each side looks the peer's key up in the genesis set:
 *   - the acceptor refuses keys outside the set, its own key, keys of validators that should not
 *     dial it (the dialing rule below), and banned peers;
 *   - the dialer refuses any key but the one of the validator it meant to reach.
 * A refused socket is destroyed with its buffered input unread, so a stranger never gets a frame
 * delivered. (Node offers no hook to abort mid-handshake on the server side; in TLS 1.3 the
 * server sees the client certificate only in the client's final flight anyway.)
 *
 * Membership. The peers are a directory that only grows: the genesis validators in index order,
 * then validators governance adds (`addPeer`; a validator that is not in genesis starts with its
 * own key after the genesis ones). Who may connect is a second, narrower set: `setAdmitted` names
 * the peers in the current or the next epoch's validator set (the node derives it from the
 * finalized chain, src/node/node.ts). A directory peer outside it is refused at the handshake
 * (`not_admitted`), not dialed, sent nothing, and cut off when it leaves the set; a key outside
 * the directory is a stranger (`unknown_key`). Until `setAdmitted` is called, every directory peer
 * is admitted (a network without validator-set changes).
 *
 * Dialing rule: between genesis validators, the lower index dials the higher one; a genesis
 * validator dials every added one; between two added validators, the lower key (bytewise) dials.
 * Each pair has exactly one connection whatever order each side's directory lists the added ones
 * in (a joiner numbers itself first, before it learns of others added earlier). A new authenticated connection from a peer replaces the old one: after a crash
 * the old socket may be half-open, and the newest connection is the one the peer is using.
 *
 * Framing: `length (u32, big-endian) ‖ payload`. A zero length is a heartbeat, sent every
 * `heartbeatIntervalMs`; a connection on which nothing arrives for `idleTimeoutMs` is closed, so a
 * silently dead peer is detected. A length above `maxFrameBytes` is garbage: the connection is
 * closed and the peer penalized. Payloads are opaque here; consensus decodes them and reports bad
 * ones through `penalize`.
 *
 * Flow control: each peer has a bounded outbound queue (messages and bytes). Frames are written
 * to the socket only while its kernel-side backlog is under `socketHighWaterBytes`; the rest wait
 * in the queue, and when the queue is full the *oldest* frame is dropped (counted as
 * `outbound_queue_full`): consensus messages about later views supersede earlier ones, and
 * anything a peer misses it recovers through block sync. A slow or silent peer therefore costs a
 * bounded amount of memory and never delays the others. Messages to a peer that is not connected
 * wait in the same queue, so start-up races lose nothing.
 *
 * Inbound: per-peer token buckets on messages and bytes; frames above the rate are dropped
 * (`rate_limited`) and cost a point of score. The score starts at `initialScore`, recovers by
 * `scoreRecoveryPerSecond`, and at zero the peer is disconnected and refused for `banMs`. The
 * message rate is sized from what honest validators send (see `DEFAULT_TRANSPORT_LIMITS`).
 *
 * Admission (acceptor side). Who is on the other end of a TCP connection is known only once its
 * TLS handshake ends, so a stranger can open sockets and never finish (or never start) one. Node's
 * `maxConnections` would refuse everyone once strangers hold the slots, validators included; it is
 * not used. Instead every accepted connection waits in one of two pools until its handshake ends:
 *   - reserved: connections from a host a genesis validator is at (the hosts of the validators'
 *     addresses, genesis or `setPeerAddress`, given as IP literals). A TCP connection cannot come
 *     from an address the sender does not hold, so strangers elsewhere can never take these
 *     slots. At most `maxReservedHandshakes`, and each validator host at most its share of them
 *     (the maximum over the number of validator hosts): a newer connection from a host at its
 *     share replaces that host's oldest (a validator retrying supersedes its own stale attempt),
 *     and when the pool is full otherwise, the oldest of the host holding the most goes. A
 *     Byzantine validator flooding from its own host thus churns only its own slots.
 *     Window: `handshakeTimeoutMs`.
 *   - strangers: everyone else, at most `maxUnauthenticatedConnections` in all and
 *     `maxHandshakesPerAddress` per source address, with `handshakeAttemptsPerSecondPerAddress`
 *     new connections per address (burst `handshakeAttemptBurstPerAddress`); an IPv6 address
 *     counts as its /64. When the pool is full a newcomer still gets a slot: it evicts the oldest
 *     handshake of the address holding the most if that address holds more than the newcomer's
 *     would, else the oldest handshake of all. Slots are thus shared fairly between addresses,
 *     and a validator whose source address genesis does not name (NAT) is evicted only if 32
 *     connections arrive during its handshake (milliseconds on a LAN), which takes an attacker
 *     dozens of addresses at the per-address rate. Window: `strangerHandshakeTimeoutMs`, 1 s:
 *     a TLS 1.3 handshake takes a few milliseconds on a LAN and one and a half round trips
 *     across the world (~0.5 s), and a stranger's socket that has not finished by then is not
 *     worth its slot.
 * A connection leaves its pool the moment its handshake ends: it is then a validator (at most one
 * connection each, see the dialing rule) or refused at once. A validator's reconnection therefore
 * never waits for strangers' sockets to time out.
 *
 * Reconnection (dialer side): exponential backoff from `reconnectBaseMs` to `reconnectMaxMs` with
 * equal jitter (half fixed, half random), reset once the peer has sent a frame on a connection.
 * The ceiling is 2 s: with at most a few dozen peers redialing costs nothing, and a healed
 * partition must not wait ten seconds for its connections. For the same reason a dial whose TCP
 * connection is not up within `connectTimeoutMs` is abandoned (a SYN lost in a partition would
 * otherwise wait for the kernel's retransmission). Each failed dial is reported as `dial_failed`.
 */
import { isIP, type Socket as NetSocket } from 'node:net';
import { createServer, type TLSSocket, type Server as TlsServer, connect as tlsConnect } from 'node:tls';
import { toHex } from '../../crypto/bytes.ts';
import type { Clock, Network, PeerId, Rng } from '../types.ts';
import { createValidatorTlsIdentity, ed25519KeyOfCertificate } from './certificate.ts';
import { createRealClock } from './clock.ts';
import { createRealRng } from './rng.ts';
import { createTokenBucket, type TokenBucket } from './token-bucket.ts';

export interface TransportLimits {
  /** Largest payload of one frame; a longer length prefix closes the connection. */
  maxFrameBytes: number;
  /** Per-peer outbound queue bounds; beyond either, the oldest queued frame is dropped. */
  outboundQueueMessages: number;
  outboundQueueBytes: number;
  /** Frames are handed to the socket only while its unsent backlog is below this. */
  socketHighWaterBytes: number;
  /** Per-peer inbound token buckets. */
  rateMessagesPerSecond: number;
  rateBurstMessages: number;
  rateBytesPerSecond: number;
  rateBurstBytes: number;
  initialScore: number;
  scoreRecoveryPerSecond: number;
  /** How long a peer whose score reached zero is disconnected and refused. */
  banMs: number;
  handshakeTimeoutMs: number;
  /** A dial whose TCP connection is not up by then is abandoned and retried. */
  connectTimeoutMs: number;
  heartbeatIntervalMs: number;
  idleTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** Handshake window of a connection from a stranger's address (see the header's Admission). */
  strangerHandshakeTimeoutMs: number;
  /** Stranger connections still in their handshake, over all addresses. */
  maxUnauthenticatedConnections: number;
  /** Stranger connections still in their handshake from one source address. */
  maxHandshakesPerAddress: number;
  /** New connections per second (and burst) accepted from one stranger address. */
  handshakeAttemptsPerSecondPerAddress: number;
  handshakeAttemptBurstPerAddress: number;
  /** Connections from validators' hosts still in their handshake. */
  maxReservedHandshakes: number;
}

export const DEFAULT_TRANSPORT_LIMITS: Readonly<TransportLimits> = Object.freeze({
  // A block of a few thousand 4 KiB transactions plus its certificate fits.
  maxFrameBytes: 16 * 1024 * 1024,
  outboundQueueMessages: 4096,
  outboundQueueBytes: 64 * 1024 * 1024,
  socketHighWaterBytes: 4 * 1024 * 1024,
  // Measured on `palisade devnet` (4 validators, bots trading, 8.5 blocks/s): each peer sends
  // another 30 to 33 TCP segments/s and 11 to 14 KB/s (`ss -tin` on every p2p connection over
  // 20 s; one segment carries one frame or more, so frames/s are at most about that). Honest
  // traffic per peer is a few votes per view, its proposals, transaction gossip (at most one
  // batch per 5 ms flush, 200/s) and the sync responses we asked for. 1,000 messages/s is 30× the
  // measured rate and 5× the gossip ceiling. The bursts equal the outbound queue bounds: after a
  // reconnection an honest peer flushes its whole queue at once, and that must never cost it score.
  // Bytes: a full block (768 KiB of transactions) per view when it leads plus 4 MiB sync
  // responses at 8/s fit in 32 MiB/s.
  rateMessagesPerSecond: 1000,
  rateBurstMessages: 4096,
  rateBytesPerSecond: 32 * 1024 * 1024,
  rateBurstBytes: 64 * 1024 * 1024,
  initialScore: 100,
  scoreRecoveryPerSecond: 1,
  banMs: 60_000,
  handshakeTimeoutMs: 5000,
  // A TCP connect takes one round trip, under 0.5 s between any two places on Earth.
  connectTimeoutMs: 1000,
  heartbeatIntervalMs: 1000,
  idleTimeoutMs: 5000,
  reconnectBaseMs: 100,
  reconnectMaxMs: 2000,
  strangerHandshakeTimeoutMs: 1000,
  maxUnauthenticatedConnections: 32,
  maxHandshakesPerAddress: 4,
  handshakeAttemptsPerSecondPerAddress: 2,
  handshakeAttemptBurstPerAddress: 8,
  maxReservedHandshakes: 64,
});
/** Peers a directory holds at most (genesis and added validators over the chain's life). */
const MAX_DIRECTORY_PEERS = 1024;
/** Stranger addresses whose attempt buckets are remembered; the least recently seen go first. */
const MAX_TRACKED_ADDRESSES = 4096;

/** Points a peer loses per offence the transport itself detects. */
const PENALTY_POINTS = Object.freeze({
  oversize_frame: 50,
  rate_limited: 1,
});
/** How long `close` lets an authenticated connection flush and close before destroying it. */
const CLOSE_GRACE_MS = 1000;
/** Points for a `penalize` call that does not say how many. */
export const DEFAULT_PENALTY_POINTS = 10;
/** Distinct reason labels kept per counter map; more are folded into `other` (metrics stay bounded). */
const MAX_REASON_LABELS = 64;

export interface PeerAddress {
  host: string;
  port: number;
}

export interface TransportValidator {
  /** The validator's Ed25519 public key, as in genesis. */
  publicKey: Uint8Array;
  /** Where it listens; may be given later with `setPeerAddress`. */
  address?: PeerAddress;
}

export interface TransportOptions {
  /** This validator's index in `validators`. */
  selfIndex: number;
  /** This validator's 32-byte Ed25519 seed; its public key must be `validators[selfIndex]`. */
  secretKey: Uint8Array;
  /**
   * The peer directory at start: the genesis validators in index order, then (for a validator
   * that is not in genesis) this validator's own key. Later peers join with `addPeer`.
   */
  validators: readonly TransportValidator[];
  /** How many of `validators` are genesis validators (default: all); see the dialing rule. */
  genesisValidators?: number;
  /** Where to accept connections; port 0 picks a free one (see `listen`). */
  listen: PeerAddress;
  limits?: Partial<TransportLimits>;
  clock?: Clock;
  rng?: Rng;
  /** Connection events for logs; must not throw. */
  onEvent?: (event: TransportEvent) => void;
}

export type TransportEvent =
  | { type: 'connected'; peer: PeerId; direction: 'inbound' | 'outbound' }
  | { type: 'disconnected'; peer: PeerId; reason: string }
  | { type: 'refused'; reason: string; peer?: PeerId }
  | { type: 'dial_failed'; peer: PeerId; reason: string }
  | { type: 'banned'; peer: PeerId; untilMs: number; lastReason: string };

export interface PeerStatus {
  peer: PeerId;
  publicKey: string;
  connected: boolean;
  /** Whether we dial this peer (see the dialing rule) or it dials us. */
  direction: 'outbound' | 'inbound';
  /** Whether it may connect now (in the current or next epoch's set; see `setAdmitted`). */
  admitted: boolean;
  score: number;
  banned: boolean;
  bannedForMs: number;
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
  /** Socket writes that carried `messagesOut` (frames of one turn go out in one write). */
  writesOut: number;
  queuedMessages: number;
  queuedBytes: number;
  connects: number;
  drops: Record<string, number>;
  penalties: Record<string, number>;
}

export interface TransportStatus {
  self: PeerId;
  listening: PeerAddress | undefined;
  peers: PeerStatus[];
  /** Messages dropped, by reason, over all peers (for `/metrics`). */
  drops: Record<string, number>;
  /** Connections refused before or at the handshake, by reason. */
  refusals: Record<string, number>;
  /** Accepted connections still in their handshake, by pool (see the header's Admission). */
  handshaking: { reserved: number; strangers: number };
}

export interface TlsTransport extends Network {
  /** Starts accepting connections; resolves with the bound address (the real port if 0 was asked). */
  listen(): Promise<PeerAddress>;
  /** Starts dialing every higher-indexed validator whose address is known. */
  start(): void;
  /** Sets or changes where `peer` listens; dials it if started and it is ours to dial. */
  setPeerAddress(peer: PeerId, address: PeerAddress): void;
  /**
   * Adds a validator to the directory (not admitted until `setAdmitted` names it) and returns its
   * peer id; a key already there keeps its id (and gets `address` if given).
   * @throws TypeError when the key is not 32 bytes or the directory is full
   */
  addPeer(publicKey: Uint8Array, address?: PeerAddress): PeerId;
  /**
   * The peers that may connect from now on (see the header's Membership): the others are cut off,
   * refused and sent nothing; newly admitted ones are dialed when ours to dial.
   * @throws RangeError for a peer id outside the directory
   */
  setAdmitted(peers: Iterable<PeerId>): void;
  /** The peer id of a directory key, or undefined. */
  peerOf(publicKey: Uint8Array): PeerId | undefined;
  /** The key of a directory peer (ourselves included), or undefined. */
  keyOf(peer: PeerId): Uint8Array | undefined;
  /** Lowers `peer`'s score for a bad message (e.g. consensus failing to decode or verify it). */
  penalize(peer: PeerId, reason: string, points?: number): void;
  isConnected(peer: PeerId): boolean;
  status(): TransportStatus;
  /** Closes every connection and the listener, cancels every timer. */
  close(): Promise<void>;
}

interface PeerState {
  readonly index: PeerId;
  readonly publicKeyHex: string;
  readonly weDial: boolean;
  admitted: boolean;
  address: PeerAddress | undefined;
  socket: TLSSocket | undefined;
  /** A dial in flight (socket not yet authenticated). */
  dialing: TLSSocket | undefined;
  queue: Buffer[];
  queueHead: number;
  queuedBytes: number;
  score: number;
  scoreUpdatedMs: number;
  bannedUntilMs: number;
  reconnectAttempt: number;
  cancelReconnect: (() => void) | undefined;
  cancelUnban: (() => void) | undefined;
  messageBucket: TokenBucket;
  byteBucket: TokenBucket;
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
  writesOut: number;
  /** A flush is scheduled for the end of the current turn. */
  flushPending: boolean;
  connects: number;
  drops: Map<string, number>;
  penalties: Map<string, number>;
}

interface Handshake {
  readonly endpoint: string;
  readonly host: string;
  readonly reserved: boolean;
  readonly raw: NetSocket;
  readonly cancelTimer: () => void;
}

/** The address group limits count by: an IPv4 address itself, or the /64 of an IPv6 address. */
export function addressGroup(host: string): string {
  if (isIP(host) !== 6) return host;
  const [head = '', tail] = host.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const parts =
    tail === undefined
      ? headParts
      : [
          ...headParts,
          ...Array<string>(Math.max(0, 8 - headParts.length - tailParts.length)).fill('0'),
          ...tailParts,
        ];
  return `${parts
    .slice(0, 4)
    .map((part) => part.toLowerCase().padStart(4, '0'))
    .join(':')}::/64`;
}

/** An IPv4 peer of a dual-stack listener is reported as `::ffff:a.b.c.d`; the host is `a.b.c.d`. */
function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') && isIP(host.slice(7)) === 4 ? host.slice(7) : host;
}

const HEARTBEAT_FRAME = Buffer.alloc(4);
const FRAME_HEADER_BYTES = 4;

/**
 * Creates the transport of validator `selfIndex`.
 * @example
 * const transport = createTlsTransport({ selfIndex: 0, secretKey, validators, listen: { host: '0.0.0.0', port: 9000 } });
 * transport.onMessage((from, bytes) => consensus.receive(from, bytes));
 * await transport.listen(); transport.start();
 * @throws TypeError when `secretKey` is not the key of `validators[selfIndex]` or the options are malformed
 */
export function createTlsTransport(options: TransportOptions): TlsTransport {
  const limits: TransportLimits = { ...DEFAULT_TRANSPORT_LIMITS, ...options.limits };
  const { selfIndex, validators } = options;
  if (!Number.isInteger(selfIndex) || selfIndex < 0 || selfIndex >= validators.length) {
    throw new TypeError(`selfIndex ${selfIndex} is not an index of the ${validators.length} validators`);
  }
  const genesisCount = options.genesisValidators ?? validators.length;
  if (!Number.isInteger(genesisCount) || genesisCount < 1 || genesisCount > validators.length)
    throw new TypeError(`genesisValidators ${genesisCount} is not 1..${validators.length}`);
  if (validators.length > MAX_DIRECTORY_PEERS)
    throw new TypeError(`more than ${MAX_DIRECTORY_PEERS} validators`);
  const identity = createValidatorTlsIdentity(options.secretKey);
  const selfKeyHex = toHex(identity.publicKey);
  const indexByKey = new Map<string, PeerId>();
  /** Every directory key by peer id, ourselves included. */
  const directoryKeys: Uint8Array[] = [];
  validators.forEach((validator, index) => {
    const hex = toHex(validator.publicKey);
    if (validator.publicKey.length !== 32) throw new TypeError(`validator ${index}: key is not 32 bytes`);
    if (indexByKey.has(hex))
      throw new TypeError(`validator ${index}: key repeats validator ${indexByKey.get(hex)}`);
    indexByKey.set(hex, index);
    directoryKeys.push(Uint8Array.from(validator.publicKey));
  });
  if (indexByKey.get(selfKeyHex) !== selfIndex) {
    throw new TypeError(`secretKey is not the key of validator ${selfIndex}`);
  }
  const clock = options.clock ?? createRealClock();
  const rng = options.rng ?? createRealRng();
  const emit = options.onEvent ?? (() => {});

  /** The dialing rule (header): genesis by index, genesis dials added, added by key. */
  const weDialPeer = (index: PeerId, publicKeyHex: string): boolean => {
    const selfGenesis = selfIndex < genesisCount;
    const peerGenesis = index < genesisCount;
    if (selfGenesis && peerGenesis) return selfIndex < index;
    if (selfGenesis !== peerGenesis) return selfGenesis;
    return selfKeyHex < publicKeyHex;
  };

  const newPeerState = (
    index: PeerId,
    publicKey: Uint8Array,
    address: PeerAddress | undefined,
  ): PeerState => {
    const startMs = clock.now();
    const publicKeyHex = toHex(publicKey);
    return {
      index,
      publicKeyHex,
      weDial: weDialPeer(index, publicKeyHex),
      admitted: index < validators.length,
      address,
      socket: undefined,
      dialing: undefined,
      queue: [],
      queueHead: 0,
      queuedBytes: 0,
      score: limits.initialScore,
      scoreUpdatedMs: startMs,
      bannedUntilMs: 0,
      reconnectAttempt: 0,
      cancelReconnect: undefined,
      cancelUnban: undefined,
      messageBucket: createTokenBucket(
        { capacity: limits.rateBurstMessages, refillPerSecond: limits.rateMessagesPerSecond },
        startMs,
      ),
      byteBucket: createTokenBucket(
        { capacity: limits.rateBurstBytes, refillPerSecond: limits.rateBytesPerSecond },
        startMs,
      ),
      bytesIn: 0,
      bytesOut: 0,
      messagesIn: 0,
      messagesOut: 0,
      writesOut: 0,
      flushPending: false,
      connects: 0,
      drops: new Map(),
      penalties: new Map(),
    };
  };
  const peers: (PeerState | undefined)[] = validators.map((validator, index) =>
    index === selfIndex ? undefined : newPeerState(index, validator.publicKey, validator.address),
  );
  const totalDrops = new Map<string, number>();
  const refusals = new Map<string, number>();
  let handler: ((from: PeerId, message: Uint8Array) => void) | undefined;
  let server: TlsServer | undefined;
  let listening: PeerAddress | undefined;
  let started = false;
  let stopped = false;
  /** Every socket we own, authenticated or not, so `close` can end them all. */
  const sockets = new Set<TLSSocket>();
  /** Accepted TCP connections, handshaken or not: `close` must not wait out their handshakes. */
  const acceptedConnections = new Set<NetSocket>();
  /** Hosts validators are at (IP literals): their connections go to the reserved pool. */
  const validatorHosts = new Set<string>();
  for (const validator of validators)
    if (validator.address !== undefined) noteValidatorHost(validator.address.host);
  noteValidatorHost(options.listen.host);
  /** Connections still in their handshake, oldest first, by the endpoint the TLS socket will report. */
  const handshaking = new Map<string, Handshake>();
  let reservedHandshakes = 0;
  const reservedHandshakesByHost = new Map<string, number>();
  let strangerHandshakes = 0;
  const strangerHandshakesByHost = new Map<string, number>();
  /** Per stranger address: new connections it may still open; least recently seen first. */
  const attemptBuckets = new Map<string, TokenBucket>();

  const tlsOptions = {
    cert: identity.certificatePem,
    key: identity.privateKeyPem,
    minVersion: 'TLSv1.3' as const,
    maxVersion: 'TLSv1.3' as const,
    // Chains are meaningless for self-signed validator certificates; the key is checked by hand
    // against genesis before any data is read (see the header comment).
    rejectUnauthorized: false,
  };

  function peerState(peer: PeerId): PeerState {
    const state = Number.isInteger(peer) ? peers[peer] : undefined;
    if (state === undefined) throw new RangeError(`${peer} is not a peer of validator ${selfIndex}`);
    return state;
  }

  function count(map: Map<string, number>, reason: string, amount = 1): void {
    const label = map.has(reason) || map.size < MAX_REASON_LABELS ? reason : 'other';
    map.set(label, (map.get(label) ?? 0) + amount);
  }

  function drop(peer: PeerState, reason: string): void {
    count(peer.drops, reason);
    count(totalDrops, reason);
  }

  function refuse(socket: TLSSocket, reason: string, peer?: PeerId): void {
    count(refusals, reason);
    emit(peer === undefined ? { type: 'refused', reason } : { type: 'refused', reason, peer });
    socket.destroy();
  }

  function noteValidatorHost(host: string): void {
    const normalized = normalizeHost(host);
    if (isIP(normalized) !== 0 && normalized !== '0.0.0.0' && normalized !== '::')
      validatorHosts.add(normalized);
  }

  /**
   * Takes a new TCP connection into a handshake pool (see the header's Admission), or refuses it.
   * Runs for every accepted socket before a byte of it is read.
   */
  function admit(raw: NetSocket): void {
    const remote = normalizeHost(raw.remoteAddress ?? '');
    const endpoint = `${remote}:${raw.remotePort}`;
    const reserved = validatorHosts.has(remote);
    // Strangers are counted by address group: one IPv4 address, or one IPv6 /64 (one subscriber
    // usually holds a whole /64, and counting its addresses apart would make the limits moot).
    const host = reserved ? remote : addressGroup(remote);
    if (reserved) {
      // One validator host may hold only its share of the reserved slots; beyond it, its own oldest
      // attempt goes. Otherwise a Byzantine validator opening sockets from its genesis host would
      // replace every other validator's handshake before it could finish.
      const ownCount = reservedHandshakesByHost.get(host) ?? 0;
      const share = Math.max(1, Math.floor(limits.maxReservedHandshakes / Math.max(1, validatorHosts.size)));
      if (ownCount >= share || reservedHandshakes >= limits.maxReservedHandshakes) {
        let heaviest = host;
        let heaviestCount = ownCount;
        if (ownCount < share)
          for (const [other, held] of reservedHandshakesByHost)
            if (held > heaviestCount) {
              heaviest = other;
              heaviestCount = held;
            }
        const oldest = [...handshaking.values()].find((entry) => entry.reserved && entry.host === heaviest);
        if (oldest !== undefined) endHandshake(oldest, 'reserved_replaced');
      }
    } else {
      const nowMs = clock.now();
      let bucket = attemptBuckets.get(host);
      if (bucket === undefined) {
        bucket = createTokenBucket(
          {
            capacity: limits.handshakeAttemptBurstPerAddress,
            refillPerSecond: limits.handshakeAttemptsPerSecondPerAddress,
          },
          nowMs,
        );
        if (attemptBuckets.size >= MAX_TRACKED_ADDRESSES) {
          const leastRecent = attemptBuckets.keys().next().value;
          if (leastRecent !== undefined) attemptBuckets.delete(leastRecent);
        }
      } else {
        attemptBuckets.delete(host);
      }
      attemptBuckets.set(host, bucket);
      if (!bucket.take(1, nowMs)) {
        refuseRaw(raw, 'handshake_rate_limited');
        return;
      }
      const ownCount = strangerHandshakesByHost.get(host) ?? 0;
      if (ownCount >= limits.maxHandshakesPerAddress) {
        refuseRaw(raw, 'address_limit');
        return;
      }
      if (strangerHandshakes >= limits.maxUnauthenticatedConnections) {
        // The newcomer always gets a slot. The oldest handshake of the address holding the most
        // goes if that address holds more than the newcomer's would; otherwise the oldest of all.
        let heaviest: string | undefined;
        let heaviestCount = 0;
        for (const [other, count] of strangerHandshakesByHost) {
          if (count > heaviestCount) {
            heaviest = other;
            heaviestCount = count;
          }
        }
        const fromHeaviest = heaviestCount > ownCount + 1;
        const victim = [...handshaking.values()].find(
          (entry) => !entry.reserved && (!fromHeaviest || entry.host === heaviest),
        );
        if (victim !== undefined) endHandshake(victim, 'handshake_evicted');
      }
    }
    const entry: Handshake = {
      endpoint,
      host,
      reserved,
      raw,
      cancelTimer: clock.setTimer(
        reserved ? limits.handshakeTimeoutMs : limits.strangerHandshakeTimeoutMs,
        () => endHandshake(entry, 'handshake_timeout'),
      ),
    };
    handshaking.set(endpoint, entry);
    if (reserved) {
      reservedHandshakes += 1;
      reservedHandshakesByHost.set(host, (reservedHandshakesByHost.get(host) ?? 0) + 1);
    } else {
      strangerHandshakes += 1;
      strangerHandshakesByHost.set(host, (strangerHandshakesByHost.get(host) ?? 0) + 1);
    }
    raw.once('close', () => leavePool(entry));
  }

  function refuseRaw(raw: NetSocket, reason: string): void {
    count(refusals, reason);
    raw.destroy();
  }

  /** Removes a connection from its pool: its handshake ended (either way) or it closed. */
  function leavePool(entry: Handshake): void {
    if (handshaking.get(entry.endpoint) !== entry) return;
    handshaking.delete(entry.endpoint);
    entry.cancelTimer();
    if (entry.reserved) {
      reservedHandshakes -= 1;
      const held = (reservedHandshakesByHost.get(entry.host) ?? 1) - 1;
      if (held === 0) reservedHandshakesByHost.delete(entry.host);
      else reservedHandshakesByHost.set(entry.host, held);
    } else {
      strangerHandshakes -= 1;
      const left = (strangerHandshakesByHost.get(entry.host) ?? 1) - 1;
      if (left === 0) strangerHandshakesByHost.delete(entry.host);
      else strangerHandshakesByHost.set(entry.host, left);
    }
  }

  /** Closes a connection that did not finish its handshake in time or lost its slot. */
  function endHandshake(entry: Handshake, reason: string): void {
    if (handshaking.get(entry.endpoint) !== entry) return;
    leavePool(entry);
    count(refusals, reason);
    entry.raw.destroy();
  }

  function isBanned(peer: PeerState): boolean {
    return peer.bannedUntilMs > clock.now();
  }

  function currentScore(peer: PeerState): number {
    const nowMs = clock.now();
    if (nowMs > peer.scoreUpdatedMs) {
      peer.score = Math.min(
        limits.initialScore,
        peer.score + ((nowMs - peer.scoreUpdatedMs) * limits.scoreRecoveryPerSecond) / 1000,
      );
      peer.scoreUpdatedMs = nowMs;
    }
    return peer.score;
  }

  function penalizePeer(peer: PeerState, reason: string, points: number): void {
    count(peer.penalties, reason);
    if (isBanned(peer)) return;
    peer.score = currentScore(peer) - points;
    if (peer.score > 0) return;
    peer.bannedUntilMs = clock.now() + limits.banMs;
    emit({ type: 'banned', peer: peer.index, untilMs: peer.bannedUntilMs, lastReason: reason });
    peer.socket?.destroy();
    peer.dialing?.destroy();
    peer.cancelReconnect?.();
    peer.cancelReconnect = undefined;
    peer.cancelUnban?.();
    peer.cancelUnban = clock.setTimer(limits.banMs, () => {
      peer.cancelUnban = undefined;
      peer.score = limits.initialScore;
      peer.scoreUpdatedMs = clock.now();
      peer.reconnectAttempt = 0;
      dial(peer);
    });
  }

  // ---- outbound ----

  function enqueue(peer: PeerState, message: Uint8Array): void {
    if (!peer.admitted) {
      drop(peer, 'not_admitted');
      return;
    }
    if (message.length > limits.maxFrameBytes) {
      drop(peer, 'outbound_too_large');
      return;
    }
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.length);
    frame.writeUInt32BE(message.length, 0);
    frame.set(message, FRAME_HEADER_BYTES);
    while (
      queueLength(peer) > 0 &&
      (queueLength(peer) >= limits.outboundQueueMessages ||
        peer.queuedBytes + frame.length > limits.outboundQueueBytes)
    ) {
      const oldest = dequeue(peer);
      if (oldest !== undefined) drop(peer, 'outbound_queue_full');
    }
    if (frame.length > limits.outboundQueueBytes) {
      drop(peer, 'outbound_queue_full');
      return;
    }
    peer.queue.push(frame);
    peer.queuedBytes += frame.length;
    // Frames sent to one peer in one turn (a vote, its certificate, gossip, signing messages) go
    // out together at its end: one TLS record and one write instead of one per frame.
    if (!peer.flushPending) {
      peer.flushPending = true;
      queueMicrotask(() => {
        peer.flushPending = false;
        flush(peer);
      });
    }
  }

  function queueLength(peer: PeerState): number {
    return peer.queue.length - peer.queueHead;
  }

  /** Removes the oldest frame; the array is compacted lazily so dequeuing stays O(1) amortized. */
  function dequeue(peer: PeerState): Buffer | undefined {
    if (peer.queueHead >= peer.queue.length) return undefined;
    const frame = peer.queue[peer.queueHead];
    peer.queue[peer.queueHead] = HEARTBEAT_FRAME;
    peer.queueHead += 1;
    if (peer.queueHead > 1024 && peer.queueHead * 2 > peer.queue.length) {
      peer.queue = peer.queue.slice(peer.queueHead);
      peer.queueHead = 0;
    }
    if (frame !== undefined) peer.queuedBytes -= frame.length;
    return frame;
  }

  function flush(peer: PeerState): void {
    const socket = peer.socket;
    if (socket === undefined || socket.destroyed) return;
    if (queueLength(peer) === 0 || socket.writableLength >= limits.socketHighWaterBytes) return;
    // Corked, the frames below reach the socket as one writev: one TLS record (up to its size
    // limit) and one system call for all of them.
    socket.cork();
    // (`writableLength` counts corked frames too, so the backlog bound holds as before.)
    while (queueLength(peer) > 0 && socket.writableLength < limits.socketHighWaterBytes) {
      const frame = dequeue(peer);
      if (frame === undefined) break;
      socket.write(frame);
      peer.bytesOut += frame.length;
      peer.messagesOut += 1;
    }
    socket.uncork();
    peer.writesOut += 1;
  }

  // ---- connections ----

  function dial(peer: PeerState): void {
    if (stopped || !started || !peer.weDial || !peer.admitted || peer.address === undefined) return;
    if (peer.socket !== undefined || peer.dialing !== undefined || peer.cancelReconnect !== undefined) return;
    if (isBanned(peer)) return;
    let failure = 'closed';
    const socket = tlsConnect({
      ...tlsOptions,
      host: peer.address.host,
      port: peer.address.port,
      // The certificate names nobody; identity is the key, checked on 'secureConnect'.
      checkServerIdentity: () => undefined,
    });
    sockets.add(socket);
    peer.dialing = socket;
    const cancelHandshakeTimer = clock.setTimer(limits.handshakeTimeoutMs, () => {
      if (peer.dialing === socket) socket.destroy();
    });
    // A SYN lost in a partition is retransmitted by the kernel only 1 s, then 3 s, after it was
    // sent; a connect that has not completed in `connectTimeoutMs` is abandoned and retried, so a
    // healed link is redialed within a backoff step instead of waiting out the handshake window.
    const cancelConnectTimer = clock.setTimer(limits.connectTimeoutMs, () => {
      if (peer.dialing === socket && socket.connecting) {
        failure = 'connect_timeout';
        socket.destroy();
      }
    });
    socket.once('connect', cancelConnectTimer);
    socket.once('secureConnect', () => {
      if (peer.dialing !== socket) return;
      const key = ed25519KeyOfCertificate(socket.getPeerX509Certificate());
      if (key === undefined || toHex(key) !== peer.publicKeyHex) {
        cancelHandshakeTimer();
        peer.dialing = undefined;
        refuse(socket, 'wrong_peer_key', peer.index);
        scheduleReconnect(peer);
        return;
      }
      // In TLS 1.3 the client finishes before the server has judged the client's certificate, so
      // the connection counts as up only once the acceptor's first frame (a heartbeat it sends on
      // accepting) arrives; until then nothing is taken from the queue, and a refusal loses nothing.
      attach(peer, socket, 'outbound', cancelHandshakeTimer);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // Connection refused, reset or TLS failure: 'close' follows and schedules the retry.
      failure = error.code ?? 'error';
    });
    socket.once('close', () => {
      cancelHandshakeTimer();
      cancelConnectTimer();
      sockets.delete(socket);
      if (peer.dialing === socket) {
        peer.dialing = undefined;
        if (!stopped) emit({ type: 'dial_failed', peer: peer.index, reason: failure });
        scheduleReconnect(peer);
      }
    });
  }

  function scheduleReconnect(peer: PeerState): void {
    if (stopped || !peer.weDial || !peer.admitted || peer.cancelReconnect !== undefined || isBanned(peer))
      return;
    const exponent = Math.min(peer.reconnectAttempt, 30);
    const ceilingMs = Math.min(limits.reconnectMaxMs, limits.reconnectBaseMs * 2 ** exponent);
    const halfMs = Math.floor(ceilingMs / 2);
    const delayMs = ceilingMs - halfMs + rng.nextInt(halfMs + 1);
    peer.reconnectAttempt += 1;
    peer.cancelReconnect = clock.setTimer(delayMs, () => {
      peer.cancelReconnect = undefined;
      dial(peer);
    });
  }

  function onSecureConnection(socket: TLSSocket): void {
    const pooled = handshaking.get(`${normalizeHost(socket.remoteAddress ?? '')}:${socket.remotePort}`);
    if (pooled !== undefined) leavePool(pooled);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (stopped) {
      socket.destroy();
      return;
    }
    const key = ed25519KeyOfCertificate(socket.getPeerX509Certificate());
    const index = key === undefined ? undefined : indexByKey.get(toHex(key));
    if (index === undefined) {
      refuse(socket, 'unknown_key');
      return;
    }
    if (index === selfIndex) {
      refuse(socket, 'own_key');
      return;
    }
    const peer = peerState(index);
    if (!peer.admitted) {
      refuse(socket, 'not_admitted', index);
      return;
    }
    if (peer.weDial) {
      refuse(socket, 'wrong_direction', index);
      return;
    }
    if (isBanned(peer)) {
      refuse(socket, 'banned', index);
      return;
    }
    attach(peer, socket, 'inbound');
  }

  function attach(
    peer: PeerState,
    socket: TLSSocket,
    direction: 'inbound' | 'outbound',
    cancelHandshakeTimer: () => void = () => {},
  ): void {
    socket.setNoDelay(true);
    let lastReceivedMs = clock.now();
    let established = false;
    const reader = createFrameReader(limits.maxFrameBytes);

    function establish(): void {
      established = true;
      cancelHandshakeTimer();
      if (peer.dialing === socket) peer.dialing = undefined;
      const previous = peer.socket;
      peer.socket = socket;
      previous?.destroy();
      peer.connects += 1;
      peer.reconnectAttempt = 0;
      emit({ type: 'connected', peer: peer.index, direction });
      beat();
      flush(peer);
    }

    let cancelHeartbeat = (): void => {};
    const beat = (): void => {
      if (peer.socket !== socket) return;
      if (clock.now() - lastReceivedMs > limits.idleTimeoutMs) {
        detach('idle_timeout');
        return;
      }
      if (socket.writableLength < limits.socketHighWaterBytes) socket.write(HEARTBEAT_FRAME);
      cancelHeartbeat = clock.setTimer(limits.heartbeatIntervalMs, beat);
    };

    let detached = false;
    function detach(reason: string): void {
      if (detached) return;
      detached = true;
      cancelHeartbeat();
      cancelHandshakeTimer();
      socket.destroy();
      if (peer.dialing === socket) {
        peer.dialing = undefined;
        scheduleReconnect(peer);
        return;
      }
      if (peer.socket !== socket) return;
      peer.socket = undefined;
      emit({ type: 'disconnected', peer: peer.index, reason });
      scheduleReconnect(peer);
    }

    socket.on('data', (chunk: Buffer) => {
      if (detached || socket.destroyed) return;
      lastReceivedMs = clock.now();
      peer.bytesIn += chunk.length;
      const result = reader.push(chunk);
      for (const frame of result.frames) {
        if (!established) establish();
        if (frame.length === 0) continue; // heartbeat
        deliver(peer, frame);
        if (socket.destroyed) return; // the handler penalized the peer into a ban
      }
      if (result.oversizeLength !== undefined) {
        drop(peer, 'oversize_frame');
        penalizePeer(peer, 'oversize_frame', PENALTY_POINTS.oversize_frame);
        detach('oversize_frame');
      }
    });
    socket.on('drain', () => {
      if (peer.socket === socket) flush(peer);
    });
    socket.once('close', () => detach('closed'));
    // The acceptor has already checked the dialer's key, so its side is up at once; its first
    // heartbeat is what tells the dialer so.
    if (direction === 'inbound') establish();
  }

  function deliver(peer: PeerState, frame: Buffer): void {
    const nowMs = clock.now();
    // Both buckets are checked before either is charged, so a refused frame costs no tokens.
    if (
      peer.messageBucket.available(nowMs) < 1 ||
      peer.byteBucket.available(nowMs) < frame.length ||
      !peer.messageBucket.take(1, nowMs) ||
      !peer.byteBucket.take(frame.length, nowMs)
    ) {
      drop(peer, 'rate_limited');
      penalizePeer(peer, 'rate_limited', PENALTY_POINTS.rate_limited);
      return;
    }
    peer.messagesIn += 1;
    if (handler === undefined) {
      drop(peer, 'no_handler');
      return;
    }
    handler(peer.index, new Uint8Array(frame.buffer, frame.byteOffset, frame.length));
  }

  return {
    send(to: PeerId, message: Uint8Array): void {
      if (stopped) return;
      // As in the simulated network, a validator does not message itself: consensus handles its
      // own votes directly, and delivering them again would only cost work.
      if (to === selfIndex) return;
      enqueue(peerState(to), message);
    },
    broadcast(message: Uint8Array): void {
      if (stopped) return;
      for (const peer of peers) if (peer?.admitted) enqueue(peer, message);
    },
    onMessage(receiver: (from: PeerId, message: Uint8Array) => void): void {
      handler = receiver;
    },
    listen(): Promise<PeerAddress> {
      if (server !== undefined) throw new Error('transport is already listening');
      const created = createServer(
        {
          ...tlsOptions,
          requestCert: true,
          // A backstop only: the pools' own timers (see `admit`) end handshakes first.
          handshakeTimeout: Math.max(limits.handshakeTimeoutMs, limits.strangerHandshakeTimeoutMs) + 1000,
        },
        onSecureConnection,
      );
      // No `maxConnections`: admission is by pool (see the header), so strangers cannot fill a
      // cap that validators need too.
      created.on('connection', (raw: NetSocket) => {
        acceptedConnections.add(raw);
        raw.once('close', () => acceptedConnections.delete(raw));
        if (stopped) raw.destroy();
        else admit(raw);
      });
      created.on('tlsClientError', (_error, socket) => {
        // A socket we closed ourselves (timeout, eviction) was counted under that reason already.
        const pooled = handshaking.get(`${normalizeHost(socket.remoteAddress ?? '')}:${socket.remotePort}`);
        if (pooled !== undefined) {
          leavePool(pooled);
          count(refusals, 'handshake_failed');
        }
        socket.destroy();
      });
      server = created;
      return new Promise((resolve, reject) => {
        created.once('error', reject);
        created.listen(options.listen.port, options.listen.host, () => {
          created.off('error', reject);
          const address = created.address();
          if (address === null || typeof address === 'string') {
            reject(new Error('TLS server has no TCP address'));
            return;
          }
          listening = { host: address.address, port: address.port };
          resolve(listening);
        });
      });
    },
    start(): void {
      started = true;
      for (const peer of peers) if (peer !== undefined) dial(peer);
    },
    setPeerAddress(peer: PeerId, address: PeerAddress): void {
      const state = peerState(peer);
      state.address = { host: address.host, port: address.port };
      noteValidatorHost(address.host);
      dial(state);
    },
    addPeer(publicKey: Uint8Array, address?: PeerAddress): PeerId {
      if (publicKey.length !== 32) throw new TypeError('a validator key is 32 bytes');
      const hex = toHex(publicKey);
      const known = indexByKey.get(hex);
      if (known !== undefined) {
        const state = peers[known];
        if (state !== undefined && address !== undefined && state.address === undefined) {
          state.address = { host: address.host, port: address.port };
          noteValidatorHost(address.host);
          dial(state);
        }
        return known;
      }
      if (directoryKeys.length >= MAX_DIRECTORY_PEERS)
        throw new TypeError(`the directory holds ${MAX_DIRECTORY_PEERS} peers already`);
      const index = directoryKeys.length;
      directoryKeys.push(Uint8Array.from(publicKey));
      indexByKey.set(hex, index);
      const state = newPeerState(
        index,
        publicKey,
        address === undefined ? undefined : { host: address.host, port: address.port },
      );
      state.admitted = false;
      peers[index] = state;
      if (address !== undefined) noteValidatorHost(address.host);
      return index;
    },
    setAdmitted(admitted: Iterable<PeerId>): void {
      const next = new Set<PeerId>();
      for (const peer of admitted) {
        if (peer === selfIndex) continue;
        peerState(peer);
        next.add(peer);
      }
      for (const peer of peers) {
        if (peer === undefined) continue;
        const now = next.has(peer.index);
        if (now === peer.admitted) continue;
        peer.admitted = now;
        if (now) {
          peer.reconnectAttempt = 0;
          dial(peer);
          continue;
        }
        // Out of the set: cut off, and nothing queued for it is kept.
        peer.cancelReconnect?.();
        peer.cancelReconnect = undefined;
        peer.dialing?.destroy();
        peer.socket?.destroy();
        while (dequeue(peer) !== undefined) drop(peer, 'not_admitted');
      }
    },
    peerOf: (publicKey) => indexByKey.get(toHex(publicKey)),
    keyOf: (peer) => (Number.isInteger(peer) ? directoryKeys[peer]?.slice() : undefined),
    penalize(peer: PeerId, reason: string, points: number = DEFAULT_PENALTY_POINTS): void {
      if (!Number.isFinite(points) || points < 0) throw new RangeError('penalty points must be >= 0');
      penalizePeer(peerState(peer), reason, points);
    },
    isConnected(peer: PeerId): boolean {
      return peerState(peer).socket !== undefined;
    },
    status(): TransportStatus {
      const nowMs = clock.now();
      return {
        self: selfIndex,
        listening,
        peers: peers.flatMap((peer) =>
          peer === undefined
            ? []
            : [
                {
                  peer: peer.index,
                  publicKey: peer.publicKeyHex,
                  connected: peer.socket !== undefined,
                  direction: peer.weDial ? 'outbound' : 'inbound',
                  admitted: peer.admitted,
                  score: currentScore(peer),
                  banned: peer.bannedUntilMs > nowMs,
                  bannedForMs: Math.max(0, peer.bannedUntilMs - nowMs),
                  bytesIn: peer.bytesIn,
                  bytesOut: peer.bytesOut,
                  messagesIn: peer.messagesIn,
                  messagesOut: peer.messagesOut,
                  writesOut: peer.writesOut,
                  queuedMessages: queueLength(peer),
                  queuedBytes: peer.queuedBytes,
                  connects: peer.connects,
                  drops: Object.fromEntries(peer.drops),
                  penalties: Object.fromEntries(peer.penalties),
                } satisfies PeerStatus,
              ],
        ),
        drops: Object.fromEntries(totalDrops),
        refusals: Object.fromEntries(refusals),
        handshaking: { reserved: reservedHandshakes, strangers: strangerHandshakes },
      };
    },
    async close(): Promise<void> {
      stopped = true;
      for (const peer of peers) {
        if (peer === undefined) continue;
        peer.cancelReconnect?.();
        peer.cancelReconnect = undefined;
        peer.cancelUnban?.();
        peer.cancelUnban = undefined;
      }
      // Authenticated connections are drained and ended, not destroyed: destroy() discards what
      // is still queued, so the last frames sent before close (a node relaying the transactions
      // it accepted just before shutting down) would never reach the peer. The peer's queue is
      // written out as the socket drains, then the socket is ended; a peer that does not take it
      // within CLOSE_GRACE_MS is cut off. Connections still in their handshake carry nothing of
      // ours and go at once.
      const authenticated = new Set<TLSSocket>();
      const ended: Promise<void>[] = [];
      for (const peer of peers) {
        const socket = peer?.socket;
        if (peer === undefined || socket === undefined || socket.destroyed) continue;
        authenticated.add(socket);
        ended.push(
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
            socket.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            const endWhenDrained = () => {
              flush(peer);
              if (queueLength(peer) === 0) socket.end();
              else socket.once('drain', endWhenDrained);
            };
            endWhenDrained();
          }),
        );
      }
      // An accepted TCP connection is the one under an authenticated TLS socket when they share
      // the remote address and port.
      const endpoint = (socket: NetSocket) => `${socket.remoteAddress}:${socket.remotePort}`;
      const keep = new Set([...authenticated].map(endpoint));
      for (const entry of [...handshaking.values()]) leavePool(entry);
      for (const socket of sockets) if (!authenticated.has(socket)) socket.destroy();
      for (const raw of acceptedConnections) if (!keep.has(endpoint(raw))) raw.destroy();
      await Promise.all(ended);
      for (const raw of acceptedConnections) raw.destroy();
      const closing = server;
      server = undefined;
      if (closing !== undefined) await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
  };
}

/** Splits a byte stream into frames; never buffers more than one header plus one maximum frame. */
export interface FrameReader {
  /**
   * Appends `chunk`; returns the complete frames it finished (a heartbeat is an empty frame) and,
   * if a length prefix above the maximum arrived, that length (the stream is then unusable).
   */
  push(chunk: Buffer): { frames: Buffer[]; oversizeLength: number | undefined };
}

export function createFrameReader(maxFrameBytes: number): FrameReader {
  const chunks: Buffer[] = [];
  let buffered = 0;
  let expected: number | undefined;
  let broken = false;

  /** Removes and returns the first `length` buffered bytes, copying only when they span chunks. */
  function take(length: number): Buffer {
    const first = chunks[0];
    if (first !== undefined && first.length >= length) {
      const out = first.subarray(0, length);
      if (first.length === length) chunks.shift();
      else chunks[0] = first.subarray(length);
      buffered -= length;
      return out;
    }
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = chunks[0];
      if (chunk === undefined) throw new Error('frame reader: took more than was buffered');
      const used = Math.min(chunk.length, length - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) chunks.shift();
      else chunks[0] = chunk.subarray(used);
    }
    buffered -= length;
    return out;
  }

  return {
    push(chunk: Buffer) {
      const frames: Buffer[] = [];
      if (broken) return { frames, oversizeLength: undefined };
      chunks.push(chunk);
      buffered += chunk.length;
      // Each pass consumes at least a 4-byte header, so the loop is bounded by the chunk's length.
      for (;;) {
        if (expected === undefined) {
          if (buffered < FRAME_HEADER_BYTES) break;
          const length = take(FRAME_HEADER_BYTES).readUInt32BE(0);
          if (length > maxFrameBytes) {
            broken = true;
            chunks.length = 0;
            buffered = 0;
            return { frames, oversizeLength: length };
          }
          expected = length;
        }
        if (buffered < expected) break;
        frames.push(expected === 0 ? Buffer.alloc(0) : take(expected));
        expected = undefined;
      }
      return { frames, oversizeLength: undefined };
    },
  };
}
