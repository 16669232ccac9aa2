// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {FrostSecp256k1} from "./FrostSecp256k1.sol";

/// @title PalisadeVerifier
/// @notice Checks Palisade's FROST(secp256k1, SHA-256) certificates (RFC 9591) over EIP-712
/// digests: price reports, checkpoints of the Palisade chain, and keyset handovers, in which the
/// active keyset certifies the group key of the next one. No owner: the genesis keyset is fixed at
/// deployment and only a handover signed by the active keyset replaces it.
///
/// EIP-712 domains (chainId = this chain, verifyingContract = this contract):
///   price reports:            name "Palisade Price Oracle", version "1"
///                             (src/interop/price-certificate.ts)
///   checkpoints, handovers:   name "Palisade Verifier", version "1"
///                             (src/interop/evm/certificates.ts)
///
/// The keyset is kept as one storage word, keccak256(abi.encode(epoch, x, parity)); callers pass
/// the keyset itself (see `activeKeyset`), so a verification reads one cold slot, not three.
contract PalisadeVerifier {
    /// @notice A keyset: its epoch and its group public key as x and the parity of y.
    struct Keyset {
        uint64 epoch;
        uint256 x;
        uint8 parity;
    }

    /// @notice PriceReport(bytes32 feedId,int64 price,uint64 confidence,int32 exponent,uint64 publishTime,uint64 epoch)
    struct PriceReport {
        bytes32 feedId;
        int64 price;
        uint64 confidence;
        int32 exponent;
        uint64 publishTime;
        uint64 epoch;
    }

    /// @notice Checkpoint(uint64 height,bytes32 blockHash,bytes32 stateRoot,bytes32 withdrawalsRoot,uint64 epoch)
    struct Checkpoint {
        uint64 height;
        bytes32 blockHash;
        bytes32 stateRoot;
        bytes32 withdrawalsRoot;
        uint64 epoch;
    }

    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant PRICE_REPORT_TYPEHASH = keccak256(
        "PriceReport(bytes32 feedId,int64 price,uint64 confidence,int32 exponent,uint64 publishTime,uint64 epoch)"
    );
    bytes32 internal constant CHECKPOINT_TYPEHASH = keccak256(
        "Checkpoint(uint64 height,bytes32 blockHash,bytes32 stateRoot,bytes32 withdrawalsRoot,uint64 epoch)"
    );
    bytes32 internal constant HANDOVER_TYPEHASH =
        keccak256("KeysetHandover(uint64 fromEpoch,uint64 toEpoch,bytes groupPublicKey)");

    uint256 private immutable cachedChainId;
    bytes32 private immutable cachedPriceDomain;
    bytes32 private immutable cachedBridgeDomain;

    /// @dev keccak256(abi.encode(epoch, x, parity)) of the active keyset; never zero once built.
    bytes32 public keysetHash;
    Keyset private active;

    event KeysetHandedOver(uint64 indexed fromEpoch, uint64 indexed toEpoch, uint256 x, uint8 parity);

    error NotActiveKeyset();
    error EpochNotIncreasing(uint64 fromEpoch, uint64 toEpoch);
    error BadSignature();
    /// @notice The packed entry point was called with calldata of another length than 201 bytes.
    error MalformedCalldata(uint256 length);

    /// @dev Length of the packed entry point's calldata (see `verifyPriceReportPacked_8ivd`).
    uint256 private constant PACKED_PRICE_REPORT_BYTES = 201;

    /// @param epoch the genesis keyset's epoch
    /// @param groupPublicKey its group key, SEC1 compressed (33 bytes)
    constructor(uint64 epoch, bytes memory groupPublicKey) {
        cachedChainId = block.chainid;
        cachedPriceDomain = _domain("Palisade Price Oracle");
        cachedBridgeDomain = _domain("Palisade Verifier");
        (uint256 x, uint8 parity) = FrostSecp256k1.parseGroupKey(groupPublicKey);
        _install(epoch, x, parity);
    }

    /// @notice The active keyset, to pass to the verify functions.
    function activeKeyset() external view returns (Keyset memory) {
        return active;
    }

    /// @notice True when `signature` is the active keyset's FROST signature over `report`'s digest
    /// and the report names the keyset's epoch. Never reverts on a bad signature.
    /// @dev Written flat (one assembly block, no internal calls) because this is the path whose
    /// gas matters: a cold storage read, three SHA-256 calls and one ecrecover are 5,812 of it.
    function verifyPriceReport(
        Keyset calldata keyset,
        PriceReport calldata report,
        FrostSecp256k1.Signature calldata signature
    ) external view returns (bool) {
        bytes32 expected = keysetHash;
        bytes32 separator = block.chainid == cachedChainId ? cachedPriceDomain : _domain("Palisade Price Oracle");
        bytes32 typehash = PRICE_REPORT_TYPEHASH;
        bool ok;
        bytes32 digest;
        assembly ("memory-safe") {
            let m := mload(0x40)
            // The keyset words hash to the stored commitment, so they are canonical; the
            // report's epoch word must then equal the keyset's exactly.
            calldatacopy(m, keyset, 0x60)
            ok := and(eq(keccak256(m, 0x60), expected), eq(calldataload(add(report, 0xa0)), calldataload(keyset)))
            mstore(m, typehash)
            calldatacopy(add(m, 0x20), report, 0xc0)
            let structHash := keccak256(m, 0xe0)
            mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
            mstore(add(m, 0x02), separator)
            mstore(add(m, 0x22), structHash)
            digest := keccak256(m, 0x42)
        }
        if (!ok) return false;
        uint256 x;
        uint256 parity;
        assembly ("memory-safe") {
            x := calldataload(add(keyset, 0x20))
            parity := calldataload(add(keyset, 0x40))
        }
        return FrostSecp256k1.verify(digest, x, parity, signature);
    }

    /// @notice `verifyPriceReport` on a packed layout, for callers who pay for gas: the same
    /// check, the same answer, about 1,000 gas less (no ABI decoding; its selector, 0x00000dc0, is
    /// below every other one here, so the dispatcher tests it first). Takes no ABI arguments; the
    /// calldata after the selector is exactly 197 bytes, big-endian, signed fields two's complement:
    ///
    ///   offset   4  feedId       bytes32
    ///           36  price        int64
    ///           44  confidence   uint64
    ///           52  exponent     int32
    ///           56  publishTime  uint64
    ///           64  epoch        uint64   the report's and the keyset's (they must be equal)
    ///           72  keyset x     uint256
    ///          104  parity       uint8
    ///          105  R.x, R.y, z  uint256 each (FrostSecp256k1.Signature)
    ///
    /// Every field is widened here to its EIP-712 word, so any 201 bytes name exactly one report
    /// (there is no dirty encoding to refuse). Returns an ABI bool; reverts `MalformedCalldata`
    /// on any other length (calldataload would pad a short input with zeros). `evmPackedPriceReport`
    /// in src/interop/evm/certificates.ts builds the calldata.
    function verifyPriceReportPacked_8ivd() external view returns (bool) {
        if (msg.data.length != PACKED_PRICE_REPORT_BYTES) revert MalformedCalldata(msg.data.length);
        bytes32 expected = keysetHash;
        bytes32 separator = block.chainid == cachedChainId ? cachedPriceDomain : _domain("Palisade Price Oracle");
        bytes32 typehash = PRICE_REPORT_TYPEHASH;
        bool ok;
        uint256 x;
        uint256 parity;
        assembly ("memory-safe") {
            // Free memory from 0x80 (nothing is allocated before this), at constant addresses.
            let epoch := shr(192, calldataload(64))
            x := calldataload(72)
            parity := shr(248, calldataload(104))
            // The keyset as abi.encode(epoch, x, parity) must be the committed one; a parity byte
            // above 1 hashes to another word and is refused here.
            mstore(0x80, epoch)
            mstore(0xa0, x)
            mstore(0xc0, parity)
            ok := eq(keccak256(0x80, 0x60), expected)
            mstore(0x80, typehash)
            mstore(0xa0, calldataload(4))
            mstore(0xc0, signextend(7, shr(192, calldataload(36))))
            mstore(0xe0, shr(192, calldataload(44)))
            mstore(0x100, signextend(3, shr(224, calldataload(52))))
            mstore(0x120, shr(192, calldataload(56)))
            mstore(0x140, epoch)
            let structHash := keccak256(0x80, 0xe0)
            mstore(0x80, 0x1901000000000000000000000000000000000000000000000000000000000000)
            mstore(0x82, separator)
            mstore(0xa2, structHash)
            // The digest goes where the FROST check reads its message: m + 130 for m = 0x80.
            mstore(0x102, keccak256(0x80, 0x42))
        }
        // No branch on the keyset: the FROST check runs either way and both must hold.
        FrostSecp256k1.Signature calldata signature;
        assembly ("memory-safe") {
            signature := 105
        }
        bool valid = FrostSecp256k1.verifyPlaced(0x80, 32, x, parity, signature);
        assembly ("memory-safe") {
            mstore(0x00, and(ok, valid))
            return(0x00, 0x20)
        }
    }

    /// @notice True when `signature` is the active keyset's FROST signature over `checkpoint`.
    function verifyCheckpoint(
        Keyset calldata keyset,
        Checkpoint calldata checkpoint,
        FrostSecp256k1.Signature calldata signature
    ) external view returns (bool) {
        if (!_isActive(keyset) || checkpoint.epoch != keyset.epoch) return false;
        return FrostSecp256k1.verify(checkpointDigest(checkpoint), keyset.x, keyset.parity, signature);
    }

    /// @notice Replaces the active keyset by the one it certified. Reverts, changing nothing,
    /// unless `current` is active, `toEpoch` is later and `signature` is current's over the handover.
    function handover(
        Keyset calldata current,
        uint64 toEpoch,
        bytes calldata groupPublicKey,
        FrostSecp256k1.Signature calldata signature
    ) external {
        if (!_isActive(current)) revert NotActiveKeyset();
        if (toEpoch <= current.epoch) revert EpochNotIncreasing(current.epoch, toEpoch);
        (uint256 x, uint8 parity) = FrostSecp256k1.parseGroupKey(groupPublicKey);
        bytes32 digest = handoverDigest(current.epoch, toEpoch, groupPublicKey);
        if (!FrostSecp256k1.verify(digest, current.x, current.parity, signature)) revert BadSignature();
        _install(toEpoch, x, parity);
        emit KeysetHandedOver(current.epoch, toEpoch, x, parity);
    }

    /// @notice EIP-712 digest of a price report (domain "Palisade Price Oracle").
    function priceReportDigest(PriceReport calldata report) public view returns (bytes32 digest) {
        bytes32 separator = priceDomainSeparator();
        bytes32 typehash = PRICE_REPORT_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            // The six fields are static: their ABI words are exactly EIP-712's encodeData. A word
            // with dirty high bits hashes to another digest, which no keyset signed.
            calldatacopy(add(m, 0x20), report, 0xc0)
            let structHash := keccak256(m, 0xe0)
            mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
            mstore(add(m, 0x02), separator)
            mstore(add(m, 0x22), structHash)
            digest := keccak256(m, 0x42)
        }
    }

    /// @notice EIP-712 digest of a checkpoint (domain "Palisade Verifier").
    function checkpointDigest(Checkpoint calldata checkpoint) public view returns (bytes32 digest) {
        bytes32 separator = bridgeDomainSeparator();
        bytes32 typehash = CHECKPOINT_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            calldatacopy(add(m, 0x20), checkpoint, 0xa0)
            let structHash := keccak256(m, 0xc0)
            mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
            mstore(add(m, 0x02), separator)
            mstore(add(m, 0x22), structHash)
            digest := keccak256(m, 0x42)
        }
    }

    /// @notice EIP-712 digest of KeysetHandover(fromEpoch, toEpoch, groupPublicKey) (domain
    /// "Palisade Verifier"); `groupPublicKey` is the next keyset's SEC1 compressed key.
    function handoverDigest(uint64 fromEpoch, uint64 toEpoch, bytes calldata groupPublicKey)
        public
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(HANDOVER_TYPEHASH, fromEpoch, toEpoch, keccak256(groupPublicKey)));
        return keccak256(abi.encodePacked(hex"1901", bridgeDomainSeparator(), structHash));
    }

    function priceDomainSeparator() public view returns (bytes32) {
        return block.chainid == cachedChainId ? cachedPriceDomain : _domain("Palisade Price Oracle");
    }

    function bridgeDomainSeparator() public view returns (bytes32) {
        return block.chainid == cachedChainId ? cachedBridgeDomain : _domain("Palisade Verifier");
    }

    function _domain(string memory name) private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(name)), keccak256("1"), block.chainid, address(this)));
    }

    function _isActive(Keyset calldata keyset) private view returns (bool matches) {
        bytes32 expected = keysetHash;
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, keyset, 0x60)
            matches := eq(keccak256(m, 0x60), expected)
        }
    }

    function _install(uint64 epoch, uint256 x, uint8 parity) private {
        active = Keyset(epoch, x, parity);
        keysetHash = keccak256(abi.encode(epoch, x, parity));
    }
}
