// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title FrostSecp256k1
/// @notice Verification of FROST(secp256k1, SHA-256) signatures exactly as RFC 9591 §6.5 and
/// §5.3 define them: valid iff z·G = R + c·PK with c = H2(R ‖ PK ‖ msg), R and PK SEC1
/// compressed, and H2 = hash_to_field over the group order n with
/// expand_message_xmd(SHA-256, DST = "FROST-secp256k1-SHA256-v1chal", 48 bytes) (RFC 9380 §5).
///
/// The equation is checked with one `ecrecover`: called with r = PK.x, v = 27 + parity(PK.y),
/// s = −c·PK.x and hash h = −z·PK.x (mod n), it returns the address of
/// r⁻¹·(s·PK − h·G) = z·G − c·PK, which equals the address of R exactly when the equation holds
/// (up to a 160-bit address collision, which the signer cannot steer: c depends on R).
///
/// The signature is passed with R in affine form (x, y): the relayer decompresses the 33-byte R
/// off chain (src/interop/evm/certificates.ts), and the contract checks that (x, y) lies on the
/// curve, so the same R ‖ z that any RFC 9591 verifier accepts is what is checked here.
library FrostSecp256k1 {
    struct Signature {
        uint256 rx;
        uint256 ry;
        uint256 z;
    }

    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 internal constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;

    /// @dev I2OSP(48, 2) ‖ I2OSP(0, 1) ‖ DST: the tail of b_0's input before DST's length byte.
    bytes32 private constant B0_TAIL = 0x00300046524f53542d736563703235366b312d5348413235362d76316368616c;
    /// @dev I2OSP(1, 1) ‖ DST ‖ I2OSP(29, 1), padded with one zero byte (hashed as 31 bytes).
    bytes32 private constant B1_TAIL = 0x0146524f53542d736563703235366b312d5348413235362d76316368616c1d00;
    /// @dev I2OSP(2, 1) ‖ DST ‖ I2OSP(29, 1), padded likewise.
    bytes32 private constant B2_TAIL = 0x0246524f53542d736563703235366b312d5348413235362d76316368616c1d00;

    error InvalidGroupKey();

    /// @notice True iff `signature` is a valid FROST signature over the 32-byte `message` under the
    /// group key (x = `keyX`, y parity = `keyParity`). Never reverts.
    /// @dev `keyX` must be below n and a curve point's x: `parseGroupKey` checks both when a keyset
    /// is installed.
    function verify(bytes32 message, uint256 keyX, uint256 keyParity, Signature calldata signature)
        internal
        view
        returns (bool)
    {
        uint256 m;
        assembly ("memory-safe") {
            m := mload(0x40)
            mstore(add(m, 130), message)
        }
        return verifyPlaced(m, 32, keyX, keyParity, signature);
    }

    /// @notice `verify` for a message of any length (RFC 9591's test vectors sign "test"); the
    /// same code checks both, the 32-byte form only skips a copy.
    function verifyBytes(bytes memory message, uint256 keyX, uint256 keyParity, Signature calldata signature)
        internal
        view
        returns (bool)
    {
        uint256 m;
        assembly ("memory-safe") {
            m := mload(0x40)
            mcopy(add(m, 130), add(message, 0x20), mload(message))
        }
        return verifyPlaced(m, message.length, keyX, keyParity, signature);
    }

    /// @notice The check itself, for a caller that has already written the message (`length`
    /// bytes) at m + 130, where [m, m + 163 + length) is memory it may overwrite (free memory, or
    /// a fixed region of a function that returns straight after). `verify` and `verifyBytes` call
    /// this; PalisadeVerifier's packed entry point calls it with a constant m so that every
    /// address below folds to a constant.
    function verifyPlaced(uint256 m, uint256 length, uint256 keyX, uint256 keyParity, Signature calldata signature)
        internal
        view
        returns (bool ok)
    {
        assembly ("memory-safe") {
            let rx := calldataload(signature)
            let ry := calldataload(add(signature, 0x20))
            let z := calldataload(add(signature, 0x40))
            // R is a curve point (y² = x³ + 7 over F_p) and z a canonical scalar (RFC 9591 §4.1).
            ok := and(and(lt(rx, P), lt(ry, P)), lt(z, N))
            ok := and(ok, eq(mulmod(ry, ry, P), addmod(mulmod(mulmod(rx, rx, P), rx, P), 7, P)))
            // Straight-line code, no branch: a bad R or z still runs the hashes and ecrecover (on
            // garbage, which cannot revert) and the flags above keep the answer false.
            // b_0 = SHA-256(Z_pad(64) ‖ R ‖ PK ‖ msg ‖ I2OSP(48, 2) ‖ 0x00 ‖ DST ‖ I2OSP(29, 1)).
            // Unaligned stores go left to right, each single byte after the word it follows;
            // none reaches the message at m + 130.
            mstore(m, 0)
            mstore(add(m, 0x20), 0)
            mstore(add(m, 65), rx)
            mstore8(add(m, 64), add(2, and(ry, 1)))
            mstore(add(m, 98), keyX)
            mstore8(add(m, 97), add(2, keyParity))
            let tail := add(add(m, 130), length)
            mstore(tail, B0_TAIL)
            mstore8(add(tail, 32), 29)
            ok := and(ok, staticcall(gas(), 0x02, m, add(163, length), m, 0x20))
            let b0 := mload(m)
            // b_1 = SHA-256(b_0 ‖ 0x01 ‖ DST ‖ I2OSP(29, 1)).
            mstore(add(m, 0x20), B1_TAIL)
            ok := and(ok, staticcall(gas(), 0x02, m, 63, add(m, 0x40), 0x20))
            let b1 := mload(add(m, 0x40))
            // b_2 = SHA-256((b_0 XOR b_1) ‖ 0x02 ‖ DST ‖ I2OSP(29, 1)).
            mstore(m, xor(b0, b1))
            mstore(add(m, 0x20), B2_TAIL)
            ok := and(ok, staticcall(gas(), 0x02, m, 63, add(m, 0x40), 0x20))
            let b2 := mload(add(m, 0x40))
            // c = OS2IP(b_1 ‖ b_2[0..16]) mod n.
            let c := addmod(mulmod(b1, 0x100000000000000000000000000000000, N), shr(128, b2), N)
            // ecrecover(−z·PK.x, 27 + parity, PK.x, −c·PK.x) = address(z·G − c·PK); c = 0 makes
            // s = 0, which ecrecover refuses (empty output, so the zero below stays).
            mstore(m, mulmod(sub(N, z), keyX, N))
            mstore(add(m, 0x20), add(27, keyParity))
            mstore(add(m, 0x40), keyX)
            mstore(add(m, 0x60), mulmod(sub(N, c), keyX, N))
            mstore(0x00, 0)
            ok := and(ok, staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20))
            let recovered := mload(0x00)
            mstore(m, rx)
            mstore(add(m, 0x20), ry)
            let expected := and(keccak256(m, 0x40), 0xffffffffffffffffffffffffffffffffffffffff)
            ok := and(ok, and(iszero(iszero(recovered)), eq(recovered, expected)))
        }
    }

    /// @notice Parses a SEC1 compressed group key and checks what `verify` relies on: x < n (so
    /// `ecrecover` takes it as r) and x³ + 7 a square mod p (so x is a point's abscissa).
    /// @return x the abscissa
    /// @return parity 0 for even y (prefix 0x02), 1 for odd (0x03)
    function parseGroupKey(bytes memory key) internal view returns (uint256 x, uint8 parity) {
        if (key.length != 33 || (key[0] != 0x02 && key[0] != 0x03)) revert InvalidGroupKey();
        parity = uint8(key[0]) - 2;
        assembly ("memory-safe") {
            x := mload(add(key, 33))
        }
        if (x == 0 || x >= N) revert InvalidGroupKey();
        uint256 rhs = addmod(mulmod(mulmod(x, x, P), x, P), 7, P);
        // Euler's criterion: rhs^((p−1)/2) = 1 iff rhs is a non-zero square (rhs = 0 has no point
        // on secp256k1 since −7 is not a cube mod p).
        if (_modExp(rhs, (P - 1) / 2, P) != 1) revert InvalidGroupKey();
    }

    function _modExp(uint256 base, uint256 exponent, uint256 modulus) private view returns (uint256 result) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), 0x20)
            mstore(add(m, 0x60), base)
            mstore(add(m, 0x80), exponent)
            mstore(add(m, 0xa0), modulus)
            if iszero(staticcall(gas(), 0x05, m, 0xc0, m, 0x20)) { revert(0, 0) }
            result := mload(m)
        }
    }
}
