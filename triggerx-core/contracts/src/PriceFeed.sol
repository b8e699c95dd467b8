// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

/// @title PriceFeed
/// @notice Demo price feed with a Chainlink-style read interface, set by its owner.
contract PriceFeed {
    /// @notice The account allowed to set the price.
    address public owner;
    /// @notice Decimals of the answer.
    uint8 public immutable decimals;
    /// @notice The latest round id (starts at 1 with the constructor's answer).
    uint80 public latestRound;
    /// @notice The latest answer.
    int256 public latestAnswer;
    /// @notice When the latest answer was set (unix seconds).
    uint256 public latestTimestamp;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner(address caller);
    error ZeroAddress();

    constructor(uint8 decimals_, int256 initialAnswer) {
        owner = msg.sender;
        decimals = decimals_;
        emit OwnershipTransferred(address(0), msg.sender);
        _set(initialAnswer);
    }

    /// @notice Hands the feed to a new owner.
    function transferOwnership(address newOwner) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @notice Publishes a new answer as the next round.
    function setPrice(int256 answer) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _set(answer);
    }

    /// @notice The latest round, Chainlink AggregatorV3 style.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return (latestRound, latestAnswer, latestTimestamp, latestTimestamp, latestRound);
    }

    function _set(int256 answer) private {
        uint80 round = latestRound + 1;
        latestRound = round;
        latestAnswer = answer;
        latestTimestamp = block.timestamp;
        emit AnswerUpdated(answer, round, block.timestamp);
    }
}
