"""The default DDP communication hooks: plain all-reduce and half-precision compression.

A hook gets ``(process_group_or_None, bucket)`` and returns a ``Future`` whose value is the
bucket's averaged flat gradient. With MPI as the transport, the compressed hooks round
gradients to float16/bfloat16 before summing (their numerical effect) while the wire
carries float32, since MPI has no portable half-precision reduction.
"""
from __future__ import annotations

from ....futures import Future
from ... import collectives, process_group


def _allreduce_fut(group, tensor) -> Future:
    tensor.div_(process_group.get_world_size(group))
    return collectives.all_reduce(tensor, group=group, async_op=True).get_future().then(
        lambda fut: fut.value()[0])


def allreduce_hook(process_group_state, bucket) -> Future:
    """Average the bucket with one all-reduce (what DDP does without a hook)."""
    return _allreduce_fut(process_group_state, bucket.buffer())


def _compress_hook(dtype):
    def hook(process_group_state, bucket) -> Future:
        buffer = bucket.buffer()
        compressed = buffer.to(dtype)
        fut = _allreduce_fut(process_group_state, compressed)

        def decompress(f: Future):
            buffer.copy_(f.value())
            return buffer

        return fut.then(decompress)

    return hook


def fp16_compress_hook(process_group_state, bucket) -> Future:
    """Round gradients to float16, all-reduce, and write the average back in full precision."""
    from .... import float16

    return _compress_hook(float16)(process_group_state, bucket)


def bf16_compress_hook(process_group_state, bucket) -> Future:
    """Like ``fp16_compress_hook`` with bfloat16."""
    from .... import bfloat16

    return _compress_hook(bfloat16)(process_group_state, bucket)
