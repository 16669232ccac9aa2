/**
 * Domain separation. Every byte string Palisade signs is
 *
 *   len(tag) as u8 ‖ tag (ASCII) ‖ chain id as u64 big-endian ‖ canonical bytes
 *
 * (the chain id is a safe integer, written as a u64) so a signature made for one purpose, or on one chain, never verifies for another. The length
 * prefix keeps one tag from being a prefix of another's message.
 */
import { invariant } from '../codec/invariant.ts';

/** The registered domains. A new kind of signed message gets a new tag here, never a reused one. */
export const DomainTag = Object.freeze({
  transaction: 'PALISADE/TX/v1',
  notarize: 'PALISADE/CONSENSUS/NOTARIZE/v1',
  nullify: 'PALISADE/CONSENSUS/NULLIFY/v1',
  finalize: 'PALISADE/CONSENSUS/FINALIZE/v1',
  proposal: 'PALISADE/CONSENSUS/PROPOSAL/v1',
  observation: 'PALISADE/ORACLE/OBSERVATION/v1',
  depositReport: 'PALISADE/BRIDGE/DEPOSIT-REPORT/v1',
  dkg: 'PALISADE/ORACLE/DKG/v1',
  eonDkg: 'PALISADE/SHUTTER/EON-DKG/v1',
  peerHandshake: 'PALISADE/P2P/HANDSHAKE/v1',
  keystore: 'PALISADE/KEYSTORE/v1',
  governanceProposal: 'PALISADE/GOVERNANCE/PROPOSAL/v1',
} as const);

export type DomainTagValue = (typeof DomainTag)[keyof typeof DomainTag];

/** Each tag's ASCII bytes, encoded once (a message is signed or checked per transaction and vote). */
const encodedTags = new Map<string, Uint8Array>();

/** The exact bytes that are signed for `message` in domain `tag` on chain `chainId`. */
export function domainMessage(tag: DomainTagValue, chainId: number, message: Uint8Array): Uint8Array {
  invariant(Number.isSafeInteger(chainId) && chainId >= 0, 'chain id must be a non-negative safe integer');
  let tagBytes = encodedTags.get(tag);
  if (tagBytes === undefined) {
    tagBytes = new TextEncoder().encode(tag);
    encodedTags.set(tag, tagBytes);
  }
  invariant(tagBytes.length > 0 && tagBytes.length < 256, 'domain tag length must fit in a u8');
  const out = new Uint8Array(1 + tagBytes.length + 8 + message.length);
  out[0] = tagBytes.length;
  out.set(tagBytes, 1);
  new DataView(out.buffer).setBigUint64(1 + tagBytes.length, BigInt(chainId), false);
  out.set(message, 1 + tagBytes.length + 8);
  return out;
}
