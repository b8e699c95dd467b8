// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

/// @dev The part of KeeperRegistry the hub reads.
interface IKeeperRegistryView {
    function isKeeper(address keeper) external view returns (bool);
}

/// @dev The part of JobRegistry the hub reads.
interface IJobRegistryView {
    function getJob(uint256 jobId)
        external
        view
        returns (address owner, address target, uint64 expiresAt, bool active);
}

/// @title TaskHub
/// @notice Executes tasks for registered keepers: each task id at most once, only against the
///         target its job registered, paid from the job owner's prepaid balance.
///
/// Charge per execution: `(gasleft() at entry - gasleft() after the call + GAS_OVERHEAD) *
/// tx.gasprice + feePerExecution`, moved from the owner's balance to the performer's earnings
/// (withdrawn with `claim`). The forwarded `value` also comes from the owner's balance, and is
/// refunded to it when the call fails. A failing target call does not revert: the task is
/// consumed and reported with `success = false`.
contract TaskHub {
    /// @notice Gas charged on top of the measured gas: the intrinsic transaction cost, calldata,
    ///         and the bookkeeping after the measurement.
    uint256 public constant GAS_OVERHEAD = 45_000;

    /// @notice The keeper registry consulted for `isKeeper`.
    IKeeperRegistryView public immutable registry;
    /// @notice The job registry consulted for job owner, target, expiry and status.
    IJobRegistryView public immutable jobRegistry;
    /// @notice Flat fee per execution, in wei, on top of gas.
    uint256 public immutable feePerExecution;

    /// @notice Prepaid balance of each job owner, in wei.
    mapping(address => uint256) public balanceOf;
    /// @notice Earnings of each performer, in wei, claimable with `claim`.
    mapping(address => uint256) public earnings;
    /// @notice Whether a task id has been executed (successfully or not).
    mapping(bytes32 => bool) public executed;

    uint256 private _lock = 1;

    event Deposited(address indexed owner, address indexed from, uint256 amount);
    event Withdrawn(address indexed owner, uint256 amount);
    event Claimed(address indexed performer, uint256 amount);
    event TaskExecuted(
        bytes32 indexed taskId,
        uint256 indexed jobId,
        address indexed performer,
        bool success,
        uint256 gasUsed,
        uint256 charged,
        bytes32 calldataHash
    );

    error ZeroAddress();
    error Reentrancy();
    error NotKeeper(address caller);
    error TaskAlreadyExecuted(bytes32 taskId);
    error JobNotFound(uint256 jobId);
    error JobNotActive(uint256 jobId);
    error JobExpired(uint256 jobId, uint64 expiresAt);
    error TargetMismatch(uint256 jobId, address expected, address given);
    error InsufficientBalance(address owner, uint256 needed, uint256 available);
    error InsufficientGas(uint256 gasLimit);
    error TransferFailed(address to, uint256 amount);

    modifier nonReentrant() {
        if (_lock != 1) revert Reentrancy();
        _lock = 2;
        _;
        _lock = 1;
    }

    constructor(address registry_, address jobRegistry_, uint256 feePerExecution_) {
        if (registry_ == address(0) || jobRegistry_ == address(0)) revert ZeroAddress();
        registry = IKeeperRegistryView(registry_);
        jobRegistry = IJobRegistryView(jobRegistry_);
        feePerExecution = feePerExecution_;
    }

    /// @notice Adds `msg.value` to `owner`'s prepaid balance.
    function deposit(address owner) external payable {
        if (owner == address(0)) revert ZeroAddress();
        balanceOf[owner] += msg.value;
        emit Deposited(owner, msg.sender, msg.value);
    }

    /// @notice Withdraws from the caller's prepaid balance.
    function withdraw(uint256 amount) external nonReentrant {
        uint256 available = balanceOf[msg.sender];
        if (available < amount) revert InsufficientBalance(msg.sender, amount, available);
        balanceOf[msg.sender] = available - amount;
        emit Withdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice Pays the caller its accumulated earnings.
    function claim() external nonReentrant returns (uint256 amount) {
        amount = earnings[msg.sender];
        earnings[msg.sender] = 0;
        emit Claimed(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice Executes task `taskId` of job `jobId`: calls `target` with `data`, `value` wei and
    ///         at most `gasLimit` gas. Only registered keepers; each task id once.
    /// @return success Whether the target call succeeded.
    function execute(
        bytes32 taskId,
        uint256 jobId,
        address target,
        uint256 value,
        bytes calldata data,
        uint256 gasLimit
    ) external nonReentrant returns (bool success) {
        uint256 startGas = gasleft();
        if (!registry.isKeeper(msg.sender)) revert NotKeeper(msg.sender);
        if (executed[taskId]) revert TaskAlreadyExecuted(taskId);
        address owner = _checkJob(jobId, target);

        // Fail fast when the owner cannot cover the worst case before spending the call's gas.
        uint256 available = balanceOf[owner];
        {
            uint256 worstCase = value + (gasLimit + GAS_OVERHEAD) * tx.gasprice + feePerExecution;
            if (available < worstCase) revert InsufficientBalance(owner, worstCase, available);
        }

        executed[taskId] = true;
        balanceOf[owner] = available - value;

        (success,) = target.call{value: value, gas: gasLimit}(data);
        // EIP-150 forwards at most 63/64 of the remaining gas: a call that failed while the hub
        // had too little gas left might have been starved on purpose; refuse instead of
        // consuming the task.
        if (gasleft() <= gasLimit / 63) revert InsufficientGas(gasLimit);
        if (!success) balanceOf[owner] += value;

        uint256 gasUsed = startGas - gasleft() + GAS_OVERHEAD;
        uint256 charged = gasUsed * tx.gasprice + feePerExecution;
        available = balanceOf[owner];
        if (available < charged) revert InsufficientBalance(owner, charged, available);
        balanceOf[owner] = available - charged;
        earnings[msg.sender] += charged;
        emit TaskExecuted(taskId, jobId, msg.sender, success, gasUsed, charged, keccak256(data));
    }

    /// @dev Reverts unless job `jobId` exists, is active, has not expired and targets `target`;
    ///      returns its owner.
    function _checkJob(uint256 jobId, address target) private view returns (address owner) {
        (address jobOwner, address jobTarget, uint64 expiresAt, bool active) = jobRegistry.getJob(jobId);
        if (jobOwner == address(0)) revert JobNotFound(jobId);
        if (!active) revert JobNotActive(jobId);
        if (block.timestamp >= expiresAt) revert JobExpired(jobId, expiresAt);
        if (target != jobTarget) revert TargetMismatch(jobId, jobTarget, target);
        return jobOwner;
    }

    function _send(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }
}
