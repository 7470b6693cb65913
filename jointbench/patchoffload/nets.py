"""The small image models of the CRC+APS patch-offload method (trained offline by the suite).

- :class:`EdgeCNN`: a 4-stage CNN whose last convolutional stage (``last_conv``) is coarser than
  the server's patch grid (4×4 vs 8×8 on 32 px), as EfficientNet-B0's 7×7 is vs DeiT's 14×14.
- :class:`PatchViT`: a ViT that classifies from any subset of its patch tokens. Each token is
  embedded from its own patch's pixels only (non-overlapping convolutions), keeps its positional
  embedding, and absent tokens are excluded by a key mask — equivalent to dropping them (there is
  no cross-token normalisation). Used as the server (larger) and as the tiny ViT edge of the
  Im et al. baselines (``last_attention`` = CLS attention of the last layer, mean over heads).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CanvasEmbed", "EdgeCNN", "PatchViT", "patchify", "random_keep_mask"]


class EdgeCNN(nn.Module):
    """Small CNN classifier; ``last_conv`` is the Grad-CAM layer (its output is ``A``).

    Parameters
    ----------
    in_ch : int
        Image channels.
    n_classes : int
    width : int
        Channels of the first stage (doubling twice).
    """

    def __init__(self, in_ch: int = 3, n_classes: int = 10, width: int = 16) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        w = width
        self.stem = nn.Sequential(block(in_ch, w), nn.MaxPool2d(2), block(w, 2 * w), nn.MaxPool2d(2),
                                  block(2 * w, 4 * w), nn.MaxPool2d(2))
        self.last_conv = block(4 * w, 4 * w)
        self.head = nn.Linear(4 * w, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_classes)`` of images ``(N, C, H, W)``."""
        a = self.last_conv(self.stem(x))
        return self.head(a.mean(dim=(2, 3)))


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """Split images ``(N, C, H, W)`` into patches ``(N, P*P, C, patch, patch)`` in row-major order."""
    n, c, h, w = x.shape
    if h % patch or w % patch:
        raise ValueError(f"image size {h}x{w} is not a multiple of the patch size {patch}")
    t = x.reshape(n, c, h // patch, patch, w // patch, patch).permute(0, 2, 4, 1, 3, 5)
    return t.reshape(n, (h // patch) * (w // patch), c, patch, patch)


def _linear_embed(in_ch: int, dim: int, patch: int, ch: int) -> nn.Module:
    return nn.Conv2d(in_ch, dim, patch, stride=patch)


def _cnn_embed(in_ch: int, dim: int, patch: int, ch: int) -> nn.Module:
    def block(cin: int, cout: int, stride: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    side = patch
    for _ in range(2):                      # the two stride-2 convolutions (padding 1) halve, rounding up
        side = (side + 1) // 2
    return nn.Sequential(*block(in_ch, ch, 1), *block(ch, 3 * ch, 2), *block(3 * ch, 6 * ch, 2),
                         nn.Conv2d(6 * ch, dim, side, stride=side))


class CanvasEmbed(nn.Module):
    """Hybrid-ViT stem over the received patches placed on an empty canvas.

    The received patches are written into a zero image with a fourth "received" channel (1 on received
    pixels, 0 elsewhere); a CNN (as :class:`EdgeCNN`'s stages: 3×3 conv, BN, ReLU, 2×2 max-pool, width
    doubling twice) maps it to the patch grid, and a 1×1 convolution gives one token per grid cell
    (Dosovitskiy et al. 2021, §3.1, "Hybrid Architecture"). Only the received patches' tokens are
    returned. A token's receptive field spans neighbouring *received* patches; unsent pixels are never
    read (their canvas cells are zeros, whatever the caller passes there).

    Parameters
    ----------
    in_ch, dim, patch, ch : int
        Image channels, token width, patch side (px, a power of two), first-stage channels.
    grid : int
        Patches per side.
    """

    def __init__(self, in_ch: int, dim: int, patch: int, ch: int, grid: int) -> None:
        super().__init__()
        stages = patch.bit_length() - 1
        if patch != 1 << stages or stages < 1:
            raise ValueError(f"the canvas embedding needs a power-of-two patch side, got {patch}")
        widths = [ch * min(2 ** i, 4) for i in range(stages)]
        layers: list[nn.Module] = []
        cin = in_ch + 1
        for w in widths:
            layers += [nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
            cin = w
        layers += [nn.Conv2d(cin, cin, 3, padding=1, bias=False), nn.BatchNorm2d(cin), nn.ReLU(),
                   nn.Conv2d(cin, dim, 1)]
        self.stem = nn.Sequential(*layers)
        self.in_ch, self.patch, self.grid = in_ch, patch, grid

    def forward(self, patches: torch.Tensor, index: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, K, dim)`` of the received patches ``(N, K, C, patch, patch)`` at ``index`` ``(N, K)``;
        padding (``valid`` False) is left off the canvas."""
        n, k = index.shape
        g, p, c = self.grid, self.patch, self.in_ch
        on = valid.to(patches.dtype)
        cells = patches.new_zeros(n, g * g, c + 1, p, p)
        content = torch.cat([patches * on[:, :, None, None, None], on[:, :, None, None, None].expand(n, k, 1, p, p)],
                            dim=2)
        # padding rows may repeat a received patch's index; they carry zeros and are added, so nothing is overwritten
        cells = cells.index_put((torch.arange(n)[:, None].expand(n, k), index), content, accumulate=True)
        canvas = cells.reshape(n, g, g, c + 1, p, p).permute(0, 3, 1, 4, 2, 5).reshape(n, c + 1, g * p, g * p)
        fmap = self.stem(canvas).flatten(2).transpose(1, 2)          # (N, G², dim), row-major grid
        return torch.gather(fmap, 1, index[:, :, None].expand(-1, -1, fmap.shape[2]))


_EMBEDDINGS = {"linear": _linear_embed, "cnn": _cnn_embed}


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: int) -> None:
        super().__init__()
        self.heads = heads
        self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x: torch.Tensor, key_ok: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, t, d = x.shape
        q, k, v = self.qkv(self.n1(x)).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        logits = (q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5
        logits = logits.masked_fill(~key_ok[:, None, None, :], float("-inf"))
        attn = logits.softmax(dim=-1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(n, t, d))
        return x + self.mlp(self.n2(x)), attn


class PatchViT(nn.Module):
    """ViT over a ``grid × grid`` patch grid that accepts any non-empty subset of patches.

    Parameters
    ----------
    image_size : int
    patch : int
        Patch side (px); ``grid = image_size // patch``.
    in_ch, n_classes : int
    dim, depth, heads, mlp : int
        Transformer width, layers, heads and MLP width.
    embed : {"linear", "cnn", "canvas"}
        Patch embedding: ``linear`` (one ``patch × patch`` convolution, as in ViT), ``cnn`` (a small
        convolutional stem run on each patch alone, a hybrid ViT that learns from few images; padding
        stays inside the patch, so a token still depends only on its own pixels) or ``canvas``
        (:class:`CanvasEmbed`: a CNN stem over all received patches placed on an empty canvas, so a
        token also sees neighbouring received patches, never unsent pixels).
    embed_ch : int
        Channels of the ``cnn`` embedding's first convolution (then ×3 and ×6), or of the ``canvas``
        stem's first stage (then ×2, ×4); unused by ``linear``.
    """

    def __init__(self, image_size: int = 32, patch: int = 4, in_ch: int = 3, n_classes: int = 10,
                 dim: int = 128, depth: int = 4, heads: int = 4, mlp: int = 256, embed: str = "linear",
                 embed_ch: int = 16) -> None:
        super().__init__()
        if image_size % patch:
            raise ValueError(f"image_size {image_size} is not a multiple of patch {patch}")
        self.patch, self.grid, self.in_ch = patch, image_size // patch, in_ch
        if embed == "canvas":
            self.embed: nn.Module = CanvasEmbed(in_ch, dim, patch, embed_ch, self.grid)
        elif embed in _EMBEDDINGS:
            self.embed = _EMBEDDINGS[embed](in_ch, dim, patch, embed_ch)
        else:
            raise ValueError(f"Unknown patch embedding {embed!r}. Available: {sorted([*_EMBEDDINGS, 'canvas'])}")
        self.pos = nn.Parameter(torch.randn(1, self.grid * self.grid, dim) * 0.02)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.ModuleList(_Block(dim, heads, mlp) for _ in range(depth))
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, n_classes)
        self.last_attention: torch.Tensor | None = None

    @property
    def n_patches(self) -> int:
        """Patches per image (``grid**2``)."""
        return self.grid * self.grid

    def forward_patches(self, patches: torch.Tensor, index: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Logits from received patches only.

        Parameters
        ----------
        patches : (N, K, C, patch, patch) float
            The received patch pixels (padded to ``K`` per batch).
        index : (N, K) long
            Each patch's position in the row-major grid.
        valid : (N, K) bool
            False for padding; every row needs at least one True.
        """
        n, k = index.shape
        if not bool(valid.any(dim=1).all()):
            raise ValueError("every image needs at least one received patch")
        if isinstance(self.embed, CanvasEmbed):
            tok = self.embed(patches, index, valid)
        else:
            tok = self.embed(patches.reshape(n * k, self.in_ch, self.patch, self.patch)).reshape(n, k, -1)
        tok = tok + self.pos[0][index]
        x = torch.cat([self.cls.expand(n, -1, -1), tok], dim=1)
        key_ok = torch.cat([torch.ones(n, 1, dtype=torch.bool, device=x.device), valid], dim=1)
        attn = None
        for blk in self.blocks:
            x, attn = blk(x, key_ok)
        self.last_attention = attn
        return self.head(self.norm(x[:, 0]))

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of images ``(N, C, H, W)``, using only the patches where ``keep`` (N, P²) is True."""
        patches = patchify(x, self.patch)
        n, p = patches.shape[:2]
        index = torch.arange(p, device=x.device).expand(n, p)
        valid = torch.ones(n, p, dtype=torch.bool, device=x.device) if keep is None else keep.bool()
        return self.forward_patches(patches, index, valid)

    def cls_attention(self) -> torch.Tensor:
        """CLS-token attention over the patches in the last forward's last layer, mean over heads,
        normalised to sum 1 (Im et al.'s ``attention_mode='mean'``): ``(N, P²)``."""
        if self.last_attention is None:
            raise RuntimeError("cls_attention() needs a forward pass first")
        a = self.last_attention.mean(dim=1)[:, 0, 1:]
        return a / a.sum(dim=1, keepdim=True)


def random_keep_mask(n: int, p: int, generator: torch.Generator, min_keep: float = 0.25) -> torch.Tensor:
    """Training-time patch dropping: per image a uniform keep fraction in [min_keep, 1], random patches."""
    frac = min_keep + (1.0 - min_keep) * torch.rand(n, 1, generator=generator)
    ranks = torch.rand(n, p, generator=generator).argsort(dim=1).argsort(dim=1).float()
    return ranks < (frac * p).ceil().clamp(min=1)

