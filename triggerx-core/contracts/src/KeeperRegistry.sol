// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

/// @title KeeperRegistry
/// @notice The TriggerX keeper registry and attestation contract.
///
/// The owner registers keepers with a voting power. A verdict on a task is accepted when it
/// carries EIP-712 signatures of registered keepers whose summed voting power passes the quorum
/// of the **attesting power** — the total voting power minus the performer's own, since a
/// performer never attests its own execution: strictly more than 2/3 of it to approve, strictly
/// more than 1/3 to reject. The performer's signature is refused. Each task settles at most once.
///
/// Signed type (domain: name "TriggerX", version "1", chainId, verifyingContract = this):
///   Attestation(bytes32 taskId,bytes32 reportDigest,address performer,bool approve)
///
/// The performer is signed, so a submitter cannot name another keeper as performer to shrink the
/// quorum's base. `jobId` is not signed: the signers commit to it through `reportDigest` (the
/// digest of the execution report), so followers of the events check it against the report.
contract KeeperRegistry {
    /// @notice keccak256 of the EIP-712 attestation type.
    bytes32 public constant ATTESTATION_TYPEHASH =
        keccak256("Attestation(bytes32 taskId,bytes32 reportDigest,address performer,bool approve)");
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("TriggerX");
    bytes32 private constant VERSION_HASH = keccak256("1");
    /// @dev secp256k1 order / 2: signatures with a larger s are malleable copies and refused.
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    /// @notice Upper bound on one keeper's voting power, so that sums and quorum products never overflow.
    uint256 public constant MAX_VOTING_POWER = type(uint128).max;

    /// @notice A task's settlement on this contract.
    enum Settlement {
        None,
        Submitted,
        Rejected
    }

    /// @notice The account that manages keepers.
    address public owner;
    /// @notice Sum of the voting power of all registered keepers.
    uint256 public totalVotingPower;

    mapping(address => bool) private _isKeeper;
    mapping(address => uint256) private _votingPower;
    address[] private _keepers;
    mapping(address => uint256) private _keeperIndex; // index + 1 into _keepers
    mapping(bytes32 => Settlement) private _settlement;

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event KeeperAdded(address indexed keeper, uint256 votingPower);
    event KeeperRemoved(address indexed keeper);
    event VotingPowerChanged(address indexed keeper, uint256 oldPower, uint256 newPower);
    event TaskSubmitted(
        bytes32 indexed taskId,
        uint256 indexed jobId,
        address indexed performer,
        bytes32 reportDigest,
        uint256 power,
        uint256 totalPower
    );
    event TaskRejected(
        bytes32 indexed taskId,
        uint256 indexed jobId,
        address indexed performer,
        bytes32 reportDigest,
        uint256 power,
        uint256 totalPower
    );

    error NotOwner(address caller);
    error ZeroAddress();
    error KeeperAlreadyRegistered(address keeper);
    error KeeperNotRegistered(address keeper);
    error VotingPowerTooLarge(uint256 power);
    error TaskAlreadySettled(bytes32 taskId);
    error InvalidSignatureLength(uint256 index, uint256 length);
    error InvalidSignatureV(uint256 index, uint8 v);
    error MalleableSignature(uint256 index);
    error InvalidSignature(uint256 index);
    error SignerNotKeeper(uint256 index, address signer);
    error PerformerCannotAttest(uint256 index, address performer);
    error SignersNotAscending(uint256 index, address signer, address previous);
    error QuorumNotReached(bool approve, uint256 power, uint256 totalPower);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    /// @notice Hands the registry to a new owner.
    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @notice Registers a keeper with a voting power (zero power: may execute, may not vote).
    function addKeeper(address keeper, uint256 power) external onlyOwner {
        if (keeper == address(0)) revert ZeroAddress();
        if (_isKeeper[keeper]) revert KeeperAlreadyRegistered(keeper);
        if (power > MAX_VOTING_POWER) revert VotingPowerTooLarge(power);
        _isKeeper[keeper] = true;
        _votingPower[keeper] = power;
        _keepers.push(keeper);
        _keeperIndex[keeper] = _keepers.length;
        totalVotingPower += power;
        emit KeeperAdded(keeper, power);
    }

    /// @notice Deregisters a keeper; its voting power leaves the total.
    function removeKeeper(address keeper) external onlyOwner {
        if (!_isKeeper[keeper]) revert KeeperNotRegistered(keeper);
        totalVotingPower -= _votingPower[keeper];
        _isKeeper[keeper] = false;
        _votingPower[keeper] = 0;
        uint256 index = _keeperIndex[keeper] - 1;
        address last = _keepers[_keepers.length - 1];
        _keepers[index] = last;
        _keeperIndex[last] = index + 1;
        _keepers.pop();
        _keeperIndex[keeper] = 0;
        emit KeeperRemoved(keeper);
    }

    /// @notice Changes a registered keeper's voting power.
    function setVotingPower(address keeper, uint256 power) external onlyOwner {
        if (!_isKeeper[keeper]) revert KeeperNotRegistered(keeper);
        if (power > MAX_VOTING_POWER) revert VotingPowerTooLarge(power);
        uint256 old = _votingPower[keeper];
        totalVotingPower = totalVotingPower - old + power;
        _votingPower[keeper] = power;
        emit VotingPowerChanged(keeper, old, power);
    }

    /// @notice Whether `keeper` is registered.
    function isKeeper(address keeper) external view returns (bool) {
        return _isKeeper[keeper];
    }

    /// @notice A keeper's voting power (zero when not registered).
    function votingPower(address keeper) external view returns (uint256) {
        return _votingPower[keeper];
    }

    /// @notice Number of registered keepers.
    function keeperCount() external view returns (uint256) {
        return _keepers.length;
    }

    /// @notice The registered keepers (order changes on removal).
    function keepers() external view returns (address[] memory) {
        return _keepers;
    }

    /// @notice How a task was settled (None when not yet).
    function settlement(bytes32 taskId) external view returns (Settlement) {
        return _settlement[taskId];
    }

    /// @notice The EIP-712 domain separator for the current chain.
    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    /// @notice The EIP-712 digest a keeper signs to attest `approve` on (`taskId`, `reportDigest`)
    ///         executed by `performer`.
    function attestationDigest(bytes32 taskId, bytes32 reportDigest, address performer, bool approve)
        public
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(ATTESTATION_TYPEHASH, taskId, reportDigest, performer, approve));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    /// @notice Settles a task with a quorum of keeper signatures over the attestation digest.
    /// @param signatures 65-byte (r, s, v) signatures, v in {27, 28}, low s, signers strictly
    ///        ascending by address.
    function submitVerdict(
        bytes32 taskId,
        uint256 jobId,
        address performer,
        bytes32 reportDigest,
        bool approve,
        bytes[] calldata signatures
    ) external {
        if (_settlement[taskId] != Settlement.None) revert TaskAlreadySettled(taskId);
        bytes32 digest = attestationDigest(taskId, reportDigest, performer, approve);
        uint256 power;
        address previous;
        for (uint256 i = 0; i < signatures.length; ++i) {
            address signer = _recover(i, digest, signatures[i]);
            if (signer <= previous) revert SignersNotAscending(i, signer, previous);
            if (!_isKeeper[signer]) revert SignerNotKeeper(i, signer);
            if (signer == performer) revert PerformerCannotAttest(i, signer);
            power += _votingPower[signer];
            previous = signer;
        }
        uint256 total = totalVotingPower - (_isKeeper[performer] ? _votingPower[performer] : 0);
        bool reached = approve ? power * 3 > total * 2 : power * 3 > total;
        if (!reached) revert QuorumNotReached(approve, power, total);
        if (approve) {
            _settlement[taskId] = Settlement.Submitted;
            emit TaskSubmitted(taskId, jobId, performer, reportDigest, power, total);
        } else {
            _settlement[taskId] = Settlement.Rejected;
            emit TaskRejected(taskId, jobId, performer, reportDigest, power, total);
        }
    }

    function _recover(uint256 index, bytes32 digest, bytes calldata sig) private pure returns (address signer) {
        if (sig.length != 65) revert InvalidSignatureLength(index, sig.length);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v != 27 && v != 28) revert InvalidSignatureV(index, v);
        if (uint256(s) > HALF_ORDER) revert MalleableSignature(index);
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert InvalidSignature(index);
    }
}
