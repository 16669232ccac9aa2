// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {PalisadeVerifier} from "../PalisadeVerifier.sol";

/// @title EcdsaSetVerifier
/// @notice The baseline the FROST verifier is measured against: an m-of-n set of ECDSA keys,
/// each signing the same EIP-712 price report (the shape of Wormhole's guardian set and Ronin's
/// bridge validators). One `ecrecover` per signature, signer indices strictly increasing so no
/// key counts twice, low-s only (EIP-2). The signer set is kept as one hash and passed in
/// calldata, which is cheaper than Wormhole's storage array: the comparison favours the baseline.
contract EcdsaSetVerifier {
    struct EcdsaSignature {
        uint8 index;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    bytes32 internal constant PRICE_REPORT_TYPEHASH = keccak256(
        "PriceReport(bytes32 feedId,int64 price,uint64 confidence,int32 exponent,uint64 publishTime,uint64 epoch)"
    );
    uint256 private constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    bytes32 public immutable domainSeparator;
    bytes32 public immutable signerSetHash;
    uint256 public immutable threshold;

    constructor(address[] memory signers, uint256 threshold_) {
        require(threshold_ > 0 && threshold_ <= signers.length && signers.length <= 255, "bad set");
        signerSetHash = keccak256(abi.encodePacked(signers));
        threshold = threshold_;
        domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Palisade Price Oracle"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
    }

    function priceReportDigest(PalisadeVerifier.PriceReport calldata report) public view returns (bytes32 digest) {
        bytes32 separator = domainSeparator;
        bytes32 typehash = PRICE_REPORT_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            calldatacopy(add(m, 0x20), report, 0xc0)
            let structHash := keccak256(m, 0xe0)
            mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
            mstore(add(m, 0x02), separator)
            mstore(add(m, 0x22), structHash)
            digest := keccak256(m, 0x42)
        }
    }

    /// @notice True when at least `threshold` distinct members of `signers` signed the report.
    function verifyPriceReport(
        address[] calldata signers,
        PalisadeVerifier.PriceReport calldata report,
        EcdsaSignature[] calldata signatures
    ) external view returns (bool) {
        if (keccak256(abi.encodePacked(signers)) != signerSetHash) return false;
        if (signatures.length < threshold) return false;
        bytes32 digest = priceReportDigest(report);
        uint256 previous = 0;
        for (uint256 i = 0; i < signatures.length; i++) {
            EcdsaSignature calldata signature = signatures[i];
            uint256 index = uint256(signature.index) + 1;
            if (index <= previous || index > signers.length) return false;
            previous = index;
            if (uint256(signature.s) > HALF_N) return false;
            address recovered = ecrecover(digest, signature.v, signature.r, signature.s);
            if (recovered == address(0) || recovered != signers[index - 1]) return false;
        }
        return true;
    }
}
