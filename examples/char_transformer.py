"""Train a character-level transformer language model with DDP over MPI, resumably.

    python examples/char_transformer.py                          # one process
    mpiexec -n 2 python examples/char_transformer.py --text book.txt
    mpiexec -n 2 python examples/char_transformer.py --checkpoint-dir ckpt --resume

The model is a small GPT-style decoder: token + position embeddings, a causal
``nn.TransformerEncoder`` (pre-norm layers, a causal mask), and a linear head predicting
the next character. It trains with AdamW under a linear-warmup + cosine learning-rate
schedule and prints a sample at the end. Without ``--text`` the corpus is the source of
the installed ``disttorch`` package (its .py files concatenated), real text that is
always there. SIGUSR1/SIGTERM: every rank finishes its step, checkpoints, exits 0.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import _common as common

import disttorch as torch
import disttorch.nn as nn
import disttorch.nn.functional as F
from disttorch.nn.parallel import DistributedDataParallel as DDP
from disttorch.utils.data import DataLoader, Dataset, DistributedSampler


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_args(p, epochs=2, batch_size=32, lr=3e-3)
    p.add_argument("--text", default=None, help="a UTF-8 text file (default: disttorch's own source)")
    p.add_argument("--block-size", type=int, default=64, help="context length in characters")
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=50, help="linear warmup steps")
    p.add_argument("--val-batches", type=int, default=8, help="validation batches per evaluation")
    p.add_argument("--sample-chars", type=int, default=300, help="length of the final sample")
    p.add_argument("--temperature", type=float, default=0.8)
    return common.parse(p)


def read_corpus(path: str | None) -> str:
    if path is not None:
        return Path(path).read_text(encoding="utf-8")
    root = Path(torch.__file__).parent
    return "".join(p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py")))


class CharWindows(Dataset):
    """Non-overlapping windows of ``block`` characters and the same window shifted by one."""

    def __init__(self, data: torch.Tensor, block: int) -> None:
        self.data, self.block = data, block

    def __len__(self) -> int:
        return (len(self.data) - 1) // self.block

    def __getitem__(self, i: int):
        start = i * self.block
        return self.data[start:start + self.block], self.data[start + 1:start + self.block + 1]


class CharTransformer(nn.Module):
    """Embeddings, a stack of causal self-attention layers, and a next-character head."""

    def __init__(self, vocab: int, block: int, d_model: int, heads: int, layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.block = block
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(block, d_model)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=4 * d_model, dropout=dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        pos = torch.arange(t, device=idx.device)
        x = self.drop(self.tok(idx) + self.pos(pos))
        # position i may attend to positions <= i only
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=idx.device)
        x = self.encoder(x, mask=mask, is_causal=True)
        return self.head(self.norm(x))


def warmup_cosine(warmup: int, total: int, floor: float = 0.1):
    """LR multiplier: linear warmup to 1, then cosine decay to ``floor``."""
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


@torch.no_grad()
def evaluate(model, val: CharWindows, batches: int, batch_size: int, device) -> float:
    """Mean loss (nats per character) over the first ``batches`` validation batches."""
    model.eval()
    losses = []
    for b in range(min(batches, max(1, len(val) // batch_size))):
        idx = range(b * batch_size, min(len(val), (b + 1) * batch_size))
        x = torch.stack([val[i][0] for i in idx]).to(device)
        y = torch.stack([val[i][1] for i in idx]).to(device)
        logits = model(x)
        losses.append(F.cross_entropy(logits.flatten(0, 1), y.flatten()).item())
    model.train()
    return sum(losses) / len(losses)


@torch.no_grad()
def sample(model, prompt: torch.Tensor, n: int, temperature: float, generator) -> list[int]:
    """Continue ``prompt`` by ``n`` characters, drawing each from the softened distribution."""
    model.eval()
    idx = prompt[None]
    for _ in range(n):
        logits = model(idx[:, -model.block:])[:, -1] / temperature
        nxt = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)
        idx = torch.cat([idx, nxt], dim=1)
    return idx[0, prompt.numel():].tolist()


def main() -> None:
    args = parse_args()
    rank, world = common.init_distributed()
    common.setup_logging(rank)
    device = common.pick_device(args.device)
    common.seed_everything(args.seed)

    text = read_corpus(args.text)
    vocab = "".join(sorted(set(text)))
    lookup = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([lookup[c] for c in text], dtype=torch.int64)
    split = int(0.9 * len(data))
    train_set = CharWindows(data[:split], args.block_size)
    val_set = CharWindows(data[split:], args.block_size)
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, seed=args.seed, drop_last=True)
    loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler, drop_last=True,
                        generator=torch.Generator().manual_seed(args.seed))
    common.log.info("corpus: %d characters, vocabulary %d, %d training windows of %d",
                    len(text), len(vocab), len(train_set), args.block_size)

    model = CharTransformer(len(vocab), args.block_size, args.d_model, args.heads, args.layers,
                            args.dropout).to(device)
    ckpt, state = common.resume(args, device)
    if state is not None:
        if state["vocab"] != vocab:
            raise SystemExit("the checkpoint was trained on a different text (its vocabulary differs)")
        model.load_state_dict(state["model"])
    net = DDP(model) if world > 1 else model
    total_steps = args.epochs * len(loader)
    # no weight decay on biases, norms and embeddings' position table is usual; keep it simple
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(args.warmup, total_steps))

    def loss_fn(x, y):
        return F.cross_entropy(net(x.to(device)).flatten(0, 1), y.to(device).flatten())

    def validate() -> dict:
        val_loss = evaluate(model, val_set, args.val_batches, args.batch_size, device)
        return {"val_loss": val_loss, "val_bits_per_char": val_loss / math.log(2)}

    def report(m: dict) -> str:
        return f"val loss {m['val_loss']:.4f} ({m['val_bits_per_char']:.3f} bits/char)"

    done = common.train(args, model, net, opt, sched, loader, sampler, loss_fn, validate, report,
                        ckpt=ckpt, state=state, device=device, title="character transformer",
                        postfix=lambda epoch: {"lr": sched.get_last_lr()[0]}, clip_grad_norm=1.0,
                        extra_state={"vocab": vocab}, count_parameters=True)
    if done is not None and rank == 0:
        prompt = data[split:split + min(args.block_size, 32)].to(device)
        out = sample(model, prompt, args.sample_chars, args.temperature,
                     torch.Generator(device=device).manual_seed(args.seed))
        print("sample:\n" + "".join(vocab[i] for i in prompt.tolist()) + "".join(vocab[i] for i in out)
              + "\n", flush=True)
        m = done.metrics
        print(f"final: step {done.step} val_loss {m['val_loss']:.4f} val_bits_per_char "
              f"{m['val_bits_per_char']:.3f} train_loss {done.train_loss:.4f} ranks {world} "
              f"time {done.seconds:.1f}s", flush=True)
    common.shutdown()


if __name__ == "__main__":
    main()
