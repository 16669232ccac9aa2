/**
 * Who holds the price keyset in each of its epochs, and how a keyset moves to a new validator
 * set (issue 11, "validator-set change"). src/node/price-signing.ts is the driver; this module is
 * the bookkeeping it needs, kept apart so the driver stays about I/O.
 *
 * ## Members and peers
 * The transport numbers peers by a fixed directory (the genesis validators, then any added by
 * governance: src/node/epochs.ts). A keyset numbers its members 0…n−1 in the order of the
 * validator set it was dealt to (RFC 9591 identifier = member index + 1). After a set change the
 * two numberings differ, so every message of an epoch's signing engine or of a keygen session is
 * translated: member index → the peer of that member's identity key, and back. A peer that is not
 * a member of the epoch is no one to that epoch's engine: its messages are not handed to it.
 *
 * ## Resharing at a set change
 * When the execution state applies a set change at boundary block H, the old members deal their
 * shares to the new members with the `reshare` keygen (src/crypto/keygen.ts: Desmedt and Jajodia,
 * "Redistributing secret shares to new access structures", 1997; Wong, Wang and Wing,
 * "Verifiable secret redistribution for archive systems", IEEE SISW 2002, §4 — each old member
 * Feldman-shares its own share, C_i0 must equal its verifying share Y_i, and the new share is the
 * Lagrange combination over the qualified dealers, with GJKR's complaint round to exclude bad
 * dealers). The group key is kept; the epoch advances; the outgoing keyset signs the handover
 * certificate naming the new epoch's key (src/interop/handover-certificate.ts), and a verifier
 * that follows it refuses the old epoch's certificates from then on. A removed member's share is
 * a point on the old polynomial: it fits no new share, and the new engines do not take its
 * messages. (Proactive security assumes the honest old members discard their old shares; the key
 * files of old epochs stay on disk today and should be pruned: see the report of issue 11.)
 *
 * A validator the change adds holds no old share: it receives only, after it learned the outgoing
 * keyset's public package from f + 1 old members (src/node/price-join.ts).
 *
 * The new threshold is 2f' + 1 of the new set (n' − ⌊(n' − 1)/3⌋), the one genesis uses by default.
 */
import { invariant } from '../codec/invariant.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import type { PeerId } from '../runtime/types.ts';

/** 2f + 1 of n with f = ⌊(n − 1)/3⌋: the threshold of a keyset dealt to n members. */
export function thresholdOfSet(n: number): number {
  invariant(Number.isInteger(n) && n >= 1, 'a set has members');
  return n - Math.floor((n - 1) / 3);
}

/** The index of `key` among `members`, or undefined. */
export function memberIndexOf(members: readonly Uint8Array[], key: Uint8Array): number | undefined {
  const index = members.findIndex((member) => bytesEqual(member, key));
  return index < 0 ? undefined : index;
}

export interface PeerDirectory {
  /** The transport peer of an identity key, or undefined when the transport has none for it. */
  peerOf(key: Uint8Array): PeerId | undefined;
  /** The identity key behind a transport peer, or undefined. */
  keyOf(peer: PeerId): Uint8Array | undefined;
}

/** The directory of a transport whose peer i is `keys[i]` (a node's genesis validators). */
export function indexedDirectory(keys: readonly Uint8Array[]): PeerDirectory {
  const byKey = new Map(keys.map((key, i) => [toHex(key), i]));
  invariant(byKey.size === keys.length, 'directory keys are distinct');
  return {
    peerOf: (key) => byKey.get(toHex(key)),
    keyOf: (peer) => (Number.isInteger(peer) && peer >= 0 ? keys[peer] : undefined),
  };
}

/** Translates between one epoch's member indices and transport peers. */
export interface EpochMembers {
  readonly keys: readonly Uint8Array[];
  /** The peer of member `index`; undefined when the transport cannot reach it. */
  peerOfMember(index: number): PeerId | undefined;
  /** The member index of a transport peer in this epoch, or undefined when it is not a member. */
  memberOfPeer(peer: PeerId): number | undefined;
}

/** @example const members = epochMembers(keys, directory); send(members.peerOfMember(2), bytes); */
export function epochMembers(keys: readonly Uint8Array[], directory: PeerDirectory): EpochMembers {
  const frozen = keys.map((key) => Uint8Array.from(key));
  invariant(new Set(frozen.map((key) => toHex(key))).size === frozen.length, 'members are distinct');
  const byPeer = new Map<PeerId, number>();
  const peers = frozen.map((key, index) => {
    const peer = directory.peerOf(key);
    if (peer !== undefined) byPeer.set(peer, index);
    return peer;
  });
  return {
    keys: frozen,
    peerOfMember: (index) => peers[index],
    memberOfPeer: (peer) => byPeer.get(peer),
  };
}

/** Two member lists are the same keys in the same order. */
export function sameMembers(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((key, i) => bytesEqual(key, b[i]!));
}

/**
 * Who a node's transport knows and admits, from the committed validator-set record
 * (src/execution/validator-set.ts, under `VALIDATOR_SET_STATE_KEY`). Issue 11: a validator is
 * accepted once it is in the current or the next epoch's set, and no longer once it left:
 *   - `peers`: every key of the kept epochs in epoch order, then the pending addition, each with the
 *     transport address its record names: the order the consensus engine's peer directory grows in
 *     (src/consensus/engine.ts), so a key gets the same peer id in both;
 *   - `admitted`: the current members, the key a pending change adds (it catches up before its
 *     boundary), and, while the reshare into the current epoch is still running here
 *     (`outgoingResharing`, at most one epoch long), the members the change removed: they deal in
 *     that reshare. A removed validator is refused from then on.
 */
export interface NetworkMembership {
  peers: { publicKey: Uint8Array; p2p: string | undefined }[];
  admitted: Uint8Array[];
}

/** What of the record {@link networkMembership} reads (ValidatorSetRecordCodec's value). */
export interface MembershipRecord {
  epochBlocks: number;
  members: readonly { publicKey: Uint8Array; p2p: Uint8Array }[];
  pending: readonly { change: { op: number; publicKey: Uint8Array; p2p: Uint8Array } }[];
  epochs: readonly { epoch: number; sinceHeight: number; keys: readonly Uint8Array[] }[];
}

/** `ChangeValidators.op` of an addition (src/codec/execution.ts VALIDATOR_CHANGE.add). */
const OP_ADD = 0;

/** @example const { peers, admitted } = networkMembership(record, height, prices.stats().refreshing !== null); */
export function networkMembership(
  record: MembershipRecord,
  height: number,
  outgoingResharing: boolean,
): NetworkMembership {
  const text = new TextDecoder();
  const address = new Map<string, string>();
  for (const member of record.members) address.set(toHex(member.publicKey), text.decode(member.p2p));
  const pendingAdd = record.pending.find((entry) => entry.change.op === OP_ADD)?.change;
  if (pendingAdd !== undefined) address.set(toHex(pendingAdd.publicKey), text.decode(pendingAdd.p2p));
  const seen = new Set<string>();
  const peers: NetworkMembership['peers'] = [];
  const note = (key: Uint8Array) => {
    const hex = toHex(key);
    if (seen.has(hex)) return;
    seen.add(hex);
    peers.push({ publicKey: Uint8Array.from(key), p2p: address.get(hex) });
  };
  for (const entry of record.epochs) for (const key of entry.keys) note(key);
  for (const member of record.members) note(member.publicKey);
  if (pendingAdd !== undefined) note(pendingAdd.publicKey);

  const admitted = new Map<string, Uint8Array>();
  for (const member of record.members) admitted.set(toHex(member.publicKey), member.publicKey);
  if (pendingAdd !== undefined) admitted.set(toHex(pendingAdd.publicKey), pendingAdd.publicKey);
  const current = record.epochs[record.epochs.length - 1];
  const previous = record.epochs[record.epochs.length - 2];
  if (
    outgoingResharing &&
    current !== undefined &&
    previous !== undefined &&
    current.sinceHeight > 0 &&
    height < current.sinceHeight + record.epochBlocks
  )
    for (const key of previous.keys) if (!admitted.has(toHex(key))) admitted.set(toHex(key), key);
  return { peers, admitted: [...admitted.values()].map((key) => Uint8Array.from(key)) };
}
