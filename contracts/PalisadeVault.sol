// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {FrostSecp256k1} from "./FrostSecp256k1.sol";
import {PalisadeVerifier} from "./PalisadeVerifier.sol";

/// @title PalisadeVault
/// @notice Holds the ERC-20 tokens bridged into Palisade. Deposits emit an event the validators
/// observe; withdrawals are paid against checkpoints certified by the active FROST keyset
/// (PalisadeVerifier) with a Merkle proof of the withdrawal in the checkpoint's withdrawals root.
///
/// Defences, each aimed at a loss the field has seen:
/// - every withdrawal id is paid at most once, and its leaf names this chain and this vault, so a
///   proof for another deployment or chain never matches (replay);
/// - a root is usable only once a certificate brought it; the zero root is refused and an unknown
///   height has no root (Nomad accepted the zero root as proven);
/// - token-bucket rate limits (Chainlink CCIP's shape) per token and over all tokens, in value
///   units, cap what even a compromised keyset can take per unit of time;
/// - withdrawals at or above a token's threshold wait `delaySeconds`, during which any guardian
///   can stop them;
/// - a curse (pause) per token or global, set by `guardianThreshold` guardians and lifted only
///   by every governor.
///
/// Withdrawal leaf (OpenZeppelin StandardMerkleTree, double-hashed):
///   keccak256(keccak256(abi.encode(uint256 chainId, address vault, uint64 id, address token,
///                                  address recipient, uint256 amount)))
contract PalisadeVault {
    using SafeERC20 for IERC20;

    struct Withdrawal {
        uint64 id;
        address token;
        address recipient;
        uint256 amount;
    }

    /// @notice A token bucket: `tokens` refill at `rate` per second up to `capacity`.
    struct Bucket {
        uint128 tokens;
        uint128 capacity;
        uint128 rate;
        uint64 updatedAt;
    }

    struct TokenConfig {
        bool listed;
        /// Withdrawals of at least this amount wait `delaySeconds`.
        uint256 delayThreshold;
        /// Value units per 1e18 base units, for the global bucket.
        uint256 valueWeight;
    }

    enum PendingState {
        None,
        Queued,
        Stopped,
        Paid
    }

    struct Pending {
        address token;
        address recipient;
        uint256 amount;
        uint64 releaseAt;
        PendingState state;
    }

    /// @notice The curse subject for every token at once.
    bytes32 public constant GLOBAL_SUBJECT = keccak256("palisade.vault.curse.global");
    uint256 private constant MAX_MEMBERS = 64;

    PalisadeVerifier public immutable verifier;
    uint64 public immutable delaySeconds;
    uint256 public immutable guardianThreshold;

    address[] private governors;
    mapping(address => uint256) private governorBit;
    mapping(address => bool) public isGuardian;
    uint256 public guardianCount;

    /// @notice Governance approvals, keyed by keccak256(action, governanceRound).
    mapping(bytes32 => uint256) private approvals;
    uint256 public governanceRound;

    mapping(bytes32 => bool) public cursed;
    mapping(bytes32 => uint256) private curseRound;
    mapping(bytes32 => uint256) private curseVotes;
    mapping(bytes32 => mapping(address => uint256)) private curseVotedRound;

    mapping(address => TokenConfig) public tokenConfig;
    mapping(address => Bucket) public tokenBucket;
    Bucket public globalBucket;

    mapping(uint64 => bytes32) public withdrawalsRoot;
    mapping(uint64 => bool) public claimed;
    mapping(uint64 => Pending) public pending;
    uint64 public depositNonce;

    event Deposited(
        bytes32 indexed account, address indexed token, address indexed from, uint256 amount, uint64 nonce
    );
    event CheckpointAccepted(uint64 indexed height, bytes32 withdrawalsRoot, uint64 epoch);
    event WithdrawalPaid(uint64 indexed id, address indexed token, address indexed recipient, uint256 amount);
    event WithdrawalQueued(uint64 indexed id, uint64 releaseAt);
    event WithdrawalStopped(uint64 indexed id, address guardian);
    event WithdrawalReleased(uint64 indexed id);
    event CurseVote(bytes32 indexed subject, address guardian, uint256 votes);
    event Cursed(bytes32 indexed subject);
    event CurseLifted(bytes32 indexed subject);
    event GovernanceApproval(bytes32 indexed action, address governor, uint256 approvalBits);
    event TokenConfigured(address indexed token, uint128 capacity, uint128 rate, uint256 delayThreshold, uint256 valueWeight);
    event GlobalLimitConfigured(uint128 capacity, uint128 rate);

    error NotGuardian();
    error NotGovernor();
    error InvalidConfiguration();
    error SubjectCursed(bytes32 subject);
    error AlreadyVoted();
    error TokenNotListed(address token);
    error ZeroAmount();
    error ZeroAccount();
    error ZeroRoot();
    error CheckpointKnown(uint64 height);
    error BadCertificate();
    error UnknownCheckpoint(uint64 height);
    error AlreadyClaimed(uint64 id);
    error InvalidProof();
    error NotQueued(uint64 id);
    error StillDelayed(uint64 id, uint64 releaseAt);
    error AboveCapacity(uint256 amount, uint256 capacity);
    error RateLimited(uint256 amount, uint256 available, uint256 waitSeconds);

    modifier onlyGuardian() {
        if (!isGuardian[msg.sender]) revert NotGuardian();
        _;
    }

    /// @param verifier_ the certificate verifier this vault trusts
    /// @param governors_ every governor; governance acts only when all of them approve
    /// @param guardians_ the guardians; each can stop a delayed withdrawal
    /// @param guardianThreshold_ how many guardians curse a subject
    /// @param delaySeconds_ how long a large withdrawal waits
    /// @param globalCapacity capacity of the all-token bucket, in value units
    /// @param globalRate its refill rate, value units per second
    constructor(
        PalisadeVerifier verifier_,
        address[] memory governors_,
        address[] memory guardians_,
        uint256 guardianThreshold_,
        uint64 delaySeconds_,
        uint128 globalCapacity,
        uint128 globalRate
    ) {
        if (address(verifier_) == address(0)) revert InvalidConfiguration();
        if (governors_.length == 0 || governors_.length > MAX_MEMBERS) revert InvalidConfiguration();
        if (guardians_.length == 0 || guardians_.length > MAX_MEMBERS) revert InvalidConfiguration();
        if (guardianThreshold_ == 0 || guardianThreshold_ > guardians_.length) revert InvalidConfiguration();
        for (uint256 i = 0; i < governors_.length; i++) {
            address governor = governors_[i];
            if (governor == address(0) || governorBit[governor] != 0) revert InvalidConfiguration();
            governorBit[governor] = 1 << i;
            governors.push(governor);
        }
        for (uint256 i = 0; i < guardians_.length; i++) {
            address guardian = guardians_[i];
            if (guardian == address(0) || isGuardian[guardian]) revert InvalidConfiguration();
            isGuardian[guardian] = true;
        }
        verifier = verifier_;
        guardianCount = guardians_.length;
        guardianThreshold = guardianThreshold_;
        delaySeconds = delaySeconds_;
        _configure(globalBucket, globalCapacity, globalRate, true);
        emit GlobalLimitConfigured(globalCapacity, globalRate);
    }

    // ----------------------------------------------------------------------------------- deposits

    /// @notice Moves `amount` of `token` into the vault for the Palisade account `account`.
    /// Credits what the vault actually received (fee-on-transfer tokens credit less).
    function deposit(address token, uint256 amount, bytes32 account) external returns (uint64 nonce) {
        _requireNotCursed(token);
        if (!tokenConfig[token].listed) revert TokenNotListed(token);
        if (amount == 0) revert ZeroAmount();
        if (account == bytes32(0)) revert ZeroAccount();
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
        nonce = ++depositNonce;
        emit Deposited(account, token, msg.sender, received, nonce);
    }

    // -------------------------------------------------------------------------------- withdrawals

    /// @notice Records a checkpoint's withdrawals root once the active keyset certified it.
    function submitCheckpoint(
        PalisadeVerifier.Keyset calldata keyset,
        PalisadeVerifier.Checkpoint calldata checkpoint,
        FrostSecp256k1.Signature calldata signature
    ) external {
        _requireNotCursed(GLOBAL_SUBJECT);
        if (checkpoint.withdrawalsRoot == bytes32(0)) revert ZeroRoot();
        if (withdrawalsRoot[checkpoint.height] != bytes32(0)) revert CheckpointKnown(checkpoint.height);
        if (!verifier.verifyCheckpoint(keyset, checkpoint, signature)) revert BadCertificate();
        withdrawalsRoot[checkpoint.height] = checkpoint.withdrawalsRoot;
        emit CheckpointAccepted(checkpoint.height, checkpoint.withdrawalsRoot, checkpoint.epoch);
    }

    /// @notice The StandardMerkleTree leaf of `withdrawal` for this chain and vault.
    function withdrawalLeaf(Withdrawal calldata withdrawal) public view returns (bytes32) {
        return keccak256(
            bytes.concat(
                keccak256(
                    abi.encode(
                        block.chainid,
                        address(this),
                        withdrawal.id,
                        withdrawal.token,
                        withdrawal.recipient,
                        withdrawal.amount
                    )
                )
            )
        );
    }

    /// @notice Claims a withdrawal proven in the checkpoint at `height`: paid now, or queued for
    /// `delaySeconds` when at or above the token's threshold.
    /// @return paid true when the tokens moved in this call
    function claim(Withdrawal calldata withdrawal, uint64 height, bytes32[] calldata proof)
        external
        returns (bool paid)
    {
        _requireNotCursed(withdrawal.token);
        bytes32 root = withdrawalsRoot[height];
        if (root == bytes32(0)) revert UnknownCheckpoint(height);
        if (claimed[withdrawal.id]) revert AlreadyClaimed(withdrawal.id);
        if (!MerkleProof.verifyCalldata(proof, root, withdrawalLeaf(withdrawal))) revert InvalidProof();
        TokenConfig storage config = tokenConfig[withdrawal.token];
        if (!config.listed) revert TokenNotListed(withdrawal.token);
        if (withdrawal.amount == 0) revert ZeroAmount();
        claimed[withdrawal.id] = true;
        if (withdrawal.amount >= config.delayThreshold) {
            uint64 releaseAt = uint64(block.timestamp) + delaySeconds;
            pending[withdrawal.id] =
                Pending(withdrawal.token, withdrawal.recipient, withdrawal.amount, releaseAt, PendingState.Queued);
            emit WithdrawalQueued(withdrawal.id, releaseAt);
            return false;
        }
        _pay(withdrawal.id, withdrawal.token, withdrawal.recipient, withdrawal.amount);
        return true;
    }

    /// @notice Pays a queued withdrawal once its delay has passed; anyone may call.
    function execute(uint64 id) external {
        Pending storage item = pending[id];
        if (item.state != PendingState.Queued) revert NotQueued(id);
        _requireNotCursed(item.token);
        if (block.timestamp < item.releaseAt) revert StillDelayed(id, item.releaseAt);
        item.state = PendingState.Paid;
        _pay(id, item.token, item.recipient, item.amount);
    }

    /// @notice A guardian stops a queued withdrawal; only governance releases it again.
    function stop(uint64 id) external onlyGuardian {
        Pending storage item = pending[id];
        if (item.state != PendingState.Queued) revert NotQueued(id);
        item.state = PendingState.Stopped;
        emit WithdrawalStopped(id, msg.sender);
    }

    // ------------------------------------------------------------------------------------- curses

    /// @notice The curse subject of one token.
    function tokenSubject(address token) public pure returns (bytes32) {
        return bytes32(uint256(uint160(token)));
    }

    /// @notice A guardian's vote to curse `subject`; the `guardianThreshold`-th vote curses it.
    function voteToCurse(bytes32 subject) external onlyGuardian {
        uint256 round = curseRound[subject] + 1;
        if (curseVotedRound[subject][msg.sender] == round) revert AlreadyVoted();
        curseVotedRound[subject][msg.sender] = round;
        uint256 votes = ++curseVotes[subject];
        emit CurseVote(subject, msg.sender, votes);
        if (votes >= guardianThreshold && !cursed[subject]) {
            cursed[subject] = true;
            emit Cursed(subject);
        }
    }

    // --------------------------------------------------------------------------------- governance

    /// @notice Lifts a curse and clears its votes, once every governor called it.
    function liftCurse(bytes32 subject) external {
        if (!_approved(keccak256(abi.encode("liftCurse", subject)))) return;
        cursed[subject] = false;
        curseVotes[subject] = 0;
        curseRound[subject] += 1;
        emit CurseLifted(subject);
    }

    /// @notice Re-queues a stopped withdrawal, payable at once, once every governor called it.
    function releaseStopped(uint64 id) external {
        if (!_approved(keccak256(abi.encode("releaseStopped", id)))) return;
        Pending storage item = pending[id];
        if (item.state != PendingState.Stopped) revert NotQueued(id);
        item.state = PendingState.Queued;
        item.releaseAt = uint64(block.timestamp);
        emit WithdrawalReleased(id);
    }

    /// @notice Lists or reconfigures a token, once every governor called it with the same values.
    function configureToken(
        address token,
        uint128 capacity,
        uint128 rate,
        uint256 delayThreshold,
        uint256 valueWeight
    ) external {
        if (token == address(0) || capacity == 0 || delayThreshold == 0 || delayThreshold > capacity) {
            revert InvalidConfiguration();
        }
        if (!_approved(keccak256(abi.encode("configureToken", token, capacity, rate, delayThreshold, valueWeight)))) {
            return;
        }
        TokenConfig storage config = tokenConfig[token];
        bool fresh = !config.listed;
        config.listed = true;
        config.delayThreshold = delayThreshold;
        config.valueWeight = valueWeight;
        _configure(tokenBucket[token], capacity, rate, fresh);
        emit TokenConfigured(token, capacity, rate, delayThreshold, valueWeight);
    }

    /// @notice Sets the all-token bucket, once every governor called it with the same values.
    function configureGlobalLimit(uint128 capacity, uint128 rate) external {
        if (capacity == 0) revert InvalidConfiguration();
        if (!_approved(keccak256(abi.encode("configureGlobalLimit", capacity, rate)))) return;
        _configure(globalBucket, capacity, rate, false);
        emit GlobalLimitConfigured(capacity, rate);
    }

    function governorCount() external view returns (uint256) {
        return governors.length;
    }

    /// @notice What `bucket` holds now, refilled to this block's time.
    function available(address token) external view returns (uint256 tokenAvailable, uint256 globalAvailable) {
        tokenAvailable = _refilled(tokenBucket[token]);
        globalAvailable = _refilled(globalBucket);
    }

    // ---------------------------------------------------------------------------------- internals

    /// @dev Records the caller's approval of `action` in this governance round; true (and a new
    /// round, which voids every other pending approval) when all governors have approved.
    function _approved(bytes32 action) private returns (bool) {
        uint256 bit = governorBit[msg.sender];
        if (bit == 0) revert NotGovernor();
        bytes32 key = keccak256(abi.encode(action, governanceRound));
        uint256 bits = approvals[key] | bit;
        emit GovernanceApproval(action, msg.sender, bits);
        if (bits != (uint256(1) << governors.length) - 1) {
            approvals[key] = bits;
            return false;
        }
        delete approvals[key];
        governanceRound += 1;
        return true;
    }

    function _requireNotCursed(address token) private view {
        _requireNotCursed(GLOBAL_SUBJECT);
        _requireNotCursed(tokenSubject(token));
    }

    function _requireNotCursed(bytes32 subject) private view {
        if (cursed[subject]) revert SubjectCursed(subject);
    }

    function _pay(uint64 id, address token, address recipient, uint256 amount) private {
        _consume(tokenBucket[token], amount);
        _consume(globalBucket, amount * tokenConfig[token].valueWeight / 1e18);
        IERC20(token).safeTransfer(recipient, amount);
        emit WithdrawalPaid(id, token, recipient, amount);
    }

    function _refilled(Bucket storage bucket) private view returns (uint256) {
        uint256 refill = (block.timestamp - bucket.updatedAt) * bucket.rate;
        uint256 tokens = uint256(bucket.tokens) + refill;
        return tokens < bucket.capacity ? tokens : bucket.capacity;
    }

    function _consume(Bucket storage bucket, uint256 amount) private {
        if (amount > bucket.capacity) revert AboveCapacity(amount, bucket.capacity);
        uint256 tokens = _refilled(bucket);
        if (amount > tokens) {
            uint256 missing = amount - tokens;
            uint256 wait = bucket.rate == 0 ? type(uint256).max : (missing + bucket.rate - 1) / bucket.rate;
            revert RateLimited(amount, tokens, wait);
        }
        bucket.tokens = uint128(tokens - amount);
        bucket.updatedAt = uint64(block.timestamp);
    }

    /// @dev CCIP's rule: a new bucket starts full; a reconfigured one keeps what it had refilled,
    /// capped by the new capacity.
    function _configure(Bucket storage bucket, uint128 capacity, uint128 rate, bool fresh) private {
        uint256 tokens = fresh ? capacity : _refilled(bucket);
        bucket.tokens = uint128(tokens < capacity ? tokens : capacity);
        bucket.capacity = capacity;
        bucket.rate = rate;
        bucket.updatedAt = uint64(block.timestamp);
    }
}
