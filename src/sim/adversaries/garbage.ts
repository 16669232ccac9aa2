/**
 * Garbage sender: beside everything its engine sends, it sends random bytes, truncated and
 * oversized messages, votes with broken signatures, with someone else's index, with a view far
 * ahead, with a wrong extension, unknown message types and a certificate with forged signatures.
 * Honest validators must drop each one, count it against this peer, and carry on.
 */
import { CertificateCodec, MAX_EXTENSION_BYTES, VoteCodec, VoteKind } from '../../codec/consensus.ts';
import { type Adversary, classify, forge, otherPeers } from './common.ts';

export const garbage: Adversary = (inner, context) => {
  const peers = otherPeers(context);
  let lastView = 1;
  const spray = () => {
    const to = peers[context.rng.nextInt(peers.length)]!;
    const sample = forge(context, VoteKind.notarize, lastView, context.rng.bytes(32), new Uint8Array(8));
    const encoded = VoteCodec.encode(sample);
    switch (context.rng.nextInt(9)) {
      case 0:
        inner.send(to, context.rng.bytes(1 + context.rng.nextInt(200)));
        return;
      case 1:
        inner.send(to, encoded.slice(0, context.rng.nextInt(encoded.length)));
        return;
      case 2: {
        const tampered = encoded.slice();
        const at = tampered.length - 1 - context.rng.nextInt(64);
        tampered[at] = (tampered[at]! + 1) & 0xff;
        inner.send(to, tampered);
        return;
      }
      case 3:
        inner.send(to, VoteCodec.encode({ ...sample, signer: (context.self + 1) % context.validators.size }));
        return;
      case 4:
        inner.send(
          to,
          VoteCodec.encode(
            forge(context, VoteKind.nullify, lastView + 100_000, new Uint8Array(32), new Uint8Array(0)),
          ),
        );
        return;
      case 5: {
        const oversized = new Uint8Array(VoteCodec.maxBytes + MAX_EXTENSION_BYTES);
        oversized.set(encoded.subarray(0, 3));
        inner.send(to, oversized);
        return;
      }
      case 6:
        inner.send(to, Uint8Array.of(1, 0x02, 0x7f, 0, 0));
        return;
      case 7: {
        const votes = peers
          .slice(0, context.validators.quorum)
          .sort((a, b) => a - b)
          .map((signer) => ({ signer, extensionHash: new Uint8Array(32), signature: context.rng.bytes(64) }));
        inner.send(
          to,
          CertificateCodec.encode({
            kind: VoteKind.finalize,
            view: lastView,
            digest: context.rng.bytes(32),
            votes,
          }),
        );
        return;
      }
      default:
        // A correctly signed vote whose extension the application rejects.
        inner.send(
          to,
          VoteCodec.encode(
            forge(context, VoteKind.nullify, lastView, new Uint8Array(32), context.rng.bytes(8)),
          ),
        );
    }
  };
  return {
    send: (to, message) => inner.send(to, message),
    onMessage: (handler) => inner.onMessage(handler),
    broadcast(message) {
      const outgoing = classify(message);
      if (outgoing.type === 'vote') lastView = outgoing.vote.view;
      inner.broadcast(message);
      spray();
    },
  };
};
