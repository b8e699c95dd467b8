// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

/// @title ArgsProbe
/// @notice Demo target that echoes its arguments in events, so that ABI encoding of static job
///         arguments can be observed on-chain. Any call that matches no function (and any plain
///         transfer) emits `Called(msg.data)`.
contract ArgsProbe {
    /// @notice Inner tuple with an array inside.
    struct Leg {
        address token;
        uint256[] amounts;
    }

    /// @notice Outer tuple: nests a `Leg`.
    struct Order {
        uint256 id;
        Leg leg;
        string memo;
    }

    /// @notice Number of probe calls seen (typed functions and fallback).
    uint256 public calls;

    event Integers(uint8 small, int256 signed, uint256 big);
    event Blobs(bytes32 word, bytes data, string text);
    event AddressBool(address account, bool flag);
    event Array(uint256[] values);
    event Tuple(Order order);
    event Mixed(address account, uint256 amount, string text, bool flag);
    event Called(bytes data);

    /// @notice Echoes integers.
    function probeIntegers(uint8 small, int256 signed, uint256 big) external {
        ++calls;
        emit Integers(small, signed, big);
    }

    /// @notice Echoes fixed and dynamic byte strings.
    function probeBlobs(bytes32 word, bytes calldata data, string calldata text) external {
        ++calls;
        emit Blobs(word, data, text);
    }

    /// @notice Echoes an address and a bool.
    function probeAddressBool(address account, bool flag) external {
        ++calls;
        emit AddressBool(account, flag);
    }

    /// @notice Echoes a dynamic array.
    function probeArray(uint256[] calldata values) external {
        ++calls;
        emit Array(values);
    }

    /// @notice Echoes a nested tuple with an array inside.
    function probeTuple(Order calldata order) external {
        ++calls;
        emit Tuple(order);
    }

    /// @notice Echoes a mix of static and dynamic types.
    function probeMixed(address account, uint256 amount, string calldata text, bool flag) external {
        ++calls;
        emit Mixed(account, amount, text, flag);
    }

    /// @notice Records any other call's raw calldata.
    fallback() external payable {
        ++calls;
        emit Called(msg.data);
    }

    /// @notice Records a plain transfer (empty calldata).
    receive() external payable {
        ++calls;
        emit Called("");
    }
}
