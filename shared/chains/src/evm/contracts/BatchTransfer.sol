// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// Pays many recipients in one transaction, so a payout batch costs one base fee and one nonce.
/// It never holds funds between calls: native sends must carry exactly the sum, and tokens move
/// straight from the caller (who approved this contract) to each recipient. Any failed leg
/// reverts the whole batch, so a batch is either paid completely or not at all.
contract BatchTransfer {
    error LengthMismatch();
    error ValueMismatch(uint256 sent, uint256 total);
    error TransferFailed(uint256 index);
    error NotAContract(address token);

    function batchSend(address[] calldata to, uint256[] calldata amounts) external payable {
        if (to.length != amounts.length) revert LengthMismatch();
        uint256 total;
        for (uint256 i = 0; i < amounts.length; ++i) total += amounts[i];
        // Checked before paying anyone: leftover ether would be stranded here forever.
        if (total != msg.value) revert ValueMismatch(msg.value, total);
        for (uint256 i = 0; i < to.length; ++i) {
            (bool ok, ) = payable(to[i]).call{value: amounts[i]}("");
            if (!ok) revert TransferFailed(i);
        }
    }

    function batchTransferFrom(address token, address[] calldata to, uint256[] calldata amounts) external {
        if (to.length != amounts.length) revert LengthMismatch();
        // A call to an address without code succeeds silently; without this check a mistyped
        // token address would look like a paid batch.
        if (token.code.length == 0) revert NotAContract(token);
        for (uint256 i = 0; i < to.length; ++i) {
            // Low-level call: tokens such as mainnet USDT return nothing from transferFrom, which
            // an IERC20-typed call would treat as a failure.
            (bool ok, bytes memory ret) = token.call(
                abi.encodeWithSelector(0x23b872dd, msg.sender, to[i], amounts[i])
            );
            if (!ok || (ret.length != 0 && (ret.length != 32 || abi.decode(ret, (uint256)) == 0))) {
                revert TransferFailed(i);
            }
        }
    }
}
