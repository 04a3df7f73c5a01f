// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// Contracts that only the EVM tests deploy: each one produces a shape of transaction the
/// watcher must handle (value moved by a contract, a reverted branch inside a successful
/// transaction, a token transfer emitted below the top-level call, a transaction that fails).

/// Forwards ether it receives, so the payment reaches the recipient as an internal call.
contract Forwarder {
    error Failed();

    function forward(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        if (!ok) revert Failed();
    }

    /// Pays `good` half, and tries to pay `lost` the other half from a frame that then reverts:
    /// the transaction succeeds, yet `lost` receives nothing, although a value-carrying call to
    /// it appears in the trace (inside the reverted frame).
    function forwardOneOfTwo(address payable good, address payable lost) external payable {
        uint256 half = msg.value / 2;
        try this.sendThenRevert{value: half}(lost) {
            revert Failed();
        } catch {}
        (bool ok, ) = good.call{value: msg.value - half}("");
        if (!ok) revert Failed();
    }

    function sendThenRevert(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        if (!ok) revert Failed();
        revert Failed();
    }

    /// Moves tokens it was approved for from the caller, emitting the Transfer log two frames
    /// below the transaction's own call.
    function pullToken(address token, address to, uint256 amount) external {
        (bool ok, bytes memory ret) = token.call(abi.encodeWithSelector(0x23b872dd, msg.sender, to, amount));
        if (!ok || (ret.length != 0 && abi.decode(ret, (uint256)) == 0)) revert Failed();
    }
}

/// Refuses every payment.
contract Reverter {
    receive() external payable {
        revert("Reverter: no");
    }
}
