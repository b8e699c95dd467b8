// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

/// @title JobRegistry
/// @notice On-chain job records: who owns a job, which contract it may call, and until when.
///
/// Job ids pack `chainId << 224 | (block.timestamp mod 2^64) << 160 | counter`, where the counter
/// starts at 1 and increases by one per job, so ids are unique per registry and never zero. Only
/// the low 32 bits of the chain id fit; the counter keeps ids unique regardless.
contract JobRegistry {
    struct Job {
        address owner;
        uint64 expiresAt;
        bool active;
        address target;
        bytes32 specHash;
    }

    /// @notice Number of jobs ever created (the last counter issued).
    uint256 public jobCount;
    mapping(uint256 => Job) private _jobs;

    event JobCreated(
        uint256 indexed jobId, address indexed owner, address target, bytes32 specHash, uint64 expiresAt
    );
    event JobCancelled(uint256 indexed jobId, address indexed owner);

    error ZeroTarget();
    error ExpiryNotInFuture(uint64 expiresAt, uint256 now_);
    error JobNotFound(uint256 jobId);
    error NotJobOwner(uint256 jobId, address caller);
    error JobNotActive(uint256 jobId);

    /// @notice Creates a job owned by the caller. `expiresAt` is a unix time in seconds, strictly in
    ///         the future; use 2^64-1 for a job that does not expire.
    function createJob(address target, uint64 expiresAt, bytes32 specHash) external returns (uint256 jobId) {
        if (target == address(0)) revert ZeroTarget();
        if (expiresAt <= block.timestamp) revert ExpiryNotInFuture(expiresAt, block.timestamp);
        uint256 counter = ++jobCount;
        jobId = (block.chainid << 224) | ((block.timestamp & type(uint64).max) << 160) | counter;
        _jobs[jobId] = Job({owner: msg.sender, expiresAt: expiresAt, active: true, target: target, specHash: specHash});
        emit JobCreated(jobId, msg.sender, target, specHash, expiresAt);
    }

    /// @notice Cancels an active job; only its owner may.
    function cancelJob(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        if (job.owner == address(0)) revert JobNotFound(jobId);
        if (job.owner != msg.sender) revert NotJobOwner(jobId, msg.sender);
        if (!job.active) revert JobNotActive(jobId);
        job.active = false;
        emit JobCancelled(jobId, msg.sender);
    }

    /// @notice A job's record; all zero (owner = address(0)) when the job does not exist.
    function getJob(uint256 jobId)
        external
        view
        returns (address owner, address target, uint64 expiresAt, bool active)
    {
        Job storage job = _jobs[jobId];
        return (job.owner, job.target, job.expiresAt, job.active);
    }

    /// @notice The hash of the job's off-chain spec, as given at creation.
    function specHashOf(uint256 jobId) external view returns (bytes32) {
        return _jobs[jobId].specHash;
    }
}
