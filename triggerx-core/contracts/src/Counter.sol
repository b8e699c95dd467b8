// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

/// @title Counter
/// @notice Demo target: a counter anyone may increment.
contract Counter {
    /// @notice The current count.
    uint256 public count;

    event Incremented(address indexed caller, uint256 newCount);

    error ZeroIncrement();
    error AlwaysFails();

    /// @notice Adds one.
    function increment() external {
        _add(1);
    }

    /// @notice Adds `by` (must not be zero).
    function incrementBy(uint256 by) external {
        if (by == 0) revert ZeroIncrement();
        _add(by);
    }

    /// @notice Always reverts: a target call that fails, for tests.
    function fail() external pure {
        revert AlwaysFails();
    }

    /// @notice Consumes all the gas it is given (INVALID opcode): a target that starves, for tests.
    function exhaust() external pure {
        assembly {
            invalid()
        }
    }

    function _add(uint256 by) private {
        uint256 newCount = count + by;
        count = newCount;
        emit Incremented(msg.sender, newCount);
    }
}
