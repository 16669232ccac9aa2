// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {FrostSecp256k1} from "../FrostSecp256k1.sol";

/// @title FrostVectors
/// @notice Exposes FrostSecp256k1 for messages of any length, so the tests can run RFC 9591's
/// published FROST(secp256k1, SHA-256) vector (Appendix E.5) through the contract's own code.
contract FrostVectors {
    function verifyBytes(bytes calldata message, bytes calldata groupPublicKey, FrostSecp256k1.Signature calldata signature)
        external
        view
        returns (bool)
    {
        (uint256 x, uint8 parity) = FrostSecp256k1.parseGroupKey(groupPublicKey);
        return FrostSecp256k1.verifyBytes(message, x, parity, signature);
    }
}
