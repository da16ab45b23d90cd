"""Each loss term against a hand computation (plain Python loops over small tensors)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ahnpl.trainer.config import LossConfig
from ahnpl.trainer.losses import AHNPLLoss, feature_perturbation
from ahnpl.trainer.objective import Encoded, build_objective
from ahnpl.trainer.reference_loss import ReferenceLoss

SCALE = 7.5


def unit(*shape, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g, dtype=dtype), dim=-1)


def make(b, k, d=6, seed=0, valid=0.6):
    v, t, tn = unit(b, d, seed=seed), unit(b, d, seed=seed + 1), unit(b, k, d, seed=seed + 2)
    g = torch.Generator().manual_seed(seed + 3)
    m = torch.rand(b, k, generator=g) < valid
    return v, t, tn, m


def dot(a, b):
    return float((a * b).sum())


def lse(xs):
    hi = max(xs)
    return hi + math.log(sum(math.exp(x - hi) for x in xs))


def hand_itc(v, t, tn, m, s=SCALE):
    b, k = m.shape
    total = 0.0
    for i in range(b):
        cands = [s * dot(v[i], t[c]) for c in range(b)]
        cands += [s * dot(v[i], tn[c, j]) for c in range(b) for j in range(k) if m[c, j]]
        i2t = lse(cands) - s * dot(v[i], t[i])
        t2i = lse([s * dot(t[i], v[c]) for c in range(b)]) - s * dot(t[i], v[i])
        total += 0.5 * (i2t + t2i)
    return total / b


def hand_mhn(pos_vecs, anchors, negs, mask, s=SCALE):
    """mean over rows with a valid slot of −log(e^pos/(e^pos + Σ e^neg))."""
    rows = []
    for i in range(mask.shape[0]):
        if not mask[i].any():
            continue
        pos = s * dot(pos_vecs[0][i], pos_vecs[1][i])
        negs_i = [s * dot(anchors[i], negs[i, j]) for j in range(mask.shape[1]) if mask[i, j]]
        rows.append(lse([pos] + negs_i) - pos)
    return sum(rows) / len(rows) if rows else 0.0


def hand_dm(v, t, tn, m, how, tau_max=10.0, fixed=8.0, s=SCALE):
    b, k = m.shape
    gaps = [[s * dot(v[i], t[i]) - s * dot(v[i], tn[i, j]) for j in range(k)] for i in range(b)]
    taus = []
    for j in range(k):
        col = [gaps[i][j] for i in range(b) if m[i, j]]
        if how == "fixed":
            tau = fixed
        elif not col:
            tau = 0.0
        elif how == "mean":
            tau = sum(col) / len(col)
        else:
            tau = max(col) / k
        taus.append(min(max(tau, 0.0), tau_max))
    hinges = [max(0.0, taus[j] - gaps[i][j]) for i in range(b) for j in range(k) if m[i, j]]
    return (sum(hinges) / len(hinges) if hinges else 0.0), taus


def run(cfg_kwargs, v, t, tn, m, u=None, n=None):
    """The objective of `cfg_kwargs` (mode ahnpl unless given) on one batch."""
    # The hand formulas below are the `positive` form unless a test asks for `self`.
    cfg = LossConfig(**{"mhn_form": "positive", **cfg_kwargs})
    objective = build_objective(cfg, m.shape[1], m.shape[0])
    scale = torch.tensor(SCALE, dtype=torch.float64)
    out = objective(Encoded(v, t, tn, m, u, n, scale))
    return getattr(objective, "loss", objective), out


CASES = [(4, 3, 0), (1, 3, 1), (3, 1, 2), (1, 1, 3), (5, 5, 4)]


@pytest.mark.parametrize("b,k,seed", CASES)
def test_itc_matches_hand(b, k, seed):
    v, t, tn, m = make(b, k, seed=seed)
    _, out = run({}, v, t, tn, m)
    assert out["itc"].item() == pytest.approx(hand_itc(v, t, tn, m), rel=1e-9)


@pytest.mark.parametrize("b,k,seed", CASES)
def test_mhn_text_and_feature_image_match_hand(b, k, seed):
    v, t, tn, m = make(b, k, seed=seed)
    _, out = run({"image_negatives": "feature"}, v, t, tn, m)
    assert out["mhn_text"].item() == pytest.approx(hand_mhn((v, t), t, tn, m), rel=1e-9, abs=1e-12)
    u = v[:, None, :] + (tn - t[:, None, :])
    assert out["mhn_image"].item() == pytest.approx(hand_mhn((t, v), v, u, m), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("how", ["mean", "max", "fixed"])
@pytest.mark.parametrize("b,k,seed", CASES)
def test_dynamic_margin_matches_hand(how, b, k, seed):
    v, t, tn, m = make(b, k, seed=seed)
    loss, out = run({"margin": how}, v, t, tn, m)
    want, taus = hand_dm(v, t, tn, m, how)
    assert out["dm_text"].item() == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert loss.margins()["text"].tolist() == pytest.approx(taus, rel=1e-9, abs=1e-12)


def test_margin_clamped_to_tau_max_and_zero():
    v, t, tn, m = make(6, 4, seed=9, valid=1.0)
    loss, _ = run({"margin": "mean", "tau_max": 0.5}, v, t, tn, m)
    assert loss.margins()["text"].max().item() <= 0.5
    # An image equal to its negatives' direction gives negative gaps: τ clamps at 0.
    loss, _ = run({"margin": "mean"}, tn[:, 0], t, tn, m)
    assert loss.margins()["text"][0].item() >= 0.0


def test_margin_follows_batch_statistics():
    """Wider gaps in the batch give larger τ; the EMA moves only part of the way."""
    v, t, tn, m = make(8, 2, seed=5, valid=1.0)
    near = F.normalize(t[:, None, :] + 0.3 * tn, dim=-1)  # negatives close to the caption
    loss = AHNPLLoss(LossConfig(margin="mean", tau_max=100.0), 2)
    s = torch.tensor(SCALE, dtype=torch.float64)
    loss(t, t, near, m, None, None, s)
    tau_near = loss.margins()["text"].clone()
    loss(t, t, tn, m, None, None, s)
    tau_far = loss.margins()["text"].clone()
    assert (tau_far > tau_near).all()
    gaps = SCALE * ((t * t).sum(-1)[:, None] - torch.einsum("bd,bkd->bk", t, tn))
    assert tau_far.tolist() == pytest.approx(gaps.mean(0).tolist(), rel=1e-9)

    ema = AHNPLLoss(LossConfig(margin="mean", tau_max=100.0, margin_ema=0.75), 2)
    ema(t, t, near, m, None, None, s)
    ema(t, t, tn, m, None, None, s)
    want = 0.75 * tau_near + 0.25 * tau_far
    assert ema.margins()["text"].tolist() == pytest.approx(want.tolist(), rel=1e-9)


def test_positive_alignment_matches_hand():
    v, t, tn, m = make(5, 2, seed=6)
    loss, out = run({"alpha": 0.25}, v, t, tn, m)
    want = sum(max(0.0, 0.25 - dot(v[i], t[i])) for i in range(5)) / 5
    assert out["pos"].item() == pytest.approx(want, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("alpha_from", ["fixed", "batch"])
def test_alpha_is_not_learned(alpha_from):
    """A learnable α only falls (∂L_pos/∂α ≥ 0 on every batch): α is a hyperparameter or the
    batch's detached mean cosine, and the loss has nothing for an optimizer to train."""
    v, t, tn, m = make(6, 2, seed=6)
    leaves = [x.clone().requires_grad_(True) for x in (v, t)]
    loss = AHNPLLoss(LossConfig(alpha=0.25, alpha_from=alpha_from), 2)
    out = loss(*leaves, tn, m, None, None, torch.tensor(SCALE, dtype=torch.float64))
    assert [name for name, _ in loss.named_parameters()] == []
    cos = (v * t).sum(-1)
    alpha = 0.25 if alpha_from == "fixed" else float(cos.mean())
    assert loss.pos.alpha.item() == pytest.approx(alpha, rel=1e-12)
    want = sum(max(0.0, alpha - float(c)) for c in cos) / 6
    assert out["pos"].item() == pytest.approx(want, rel=1e-9, abs=1e-12)
    # Gradients equal those of the same hinge with α a constant.
    got = torch.autograd.grad(out["pos"], leaves)
    v2, t2 = (x.clone().requires_grad_(True) for x in (v, t))
    hinge = F.relu(alpha - (v2 * t2).sum(-1)).mean()
    for g, w in zip(got, torch.autograd.grad(hinge, [v2, t2])):
        assert torch.allclose(g, w, atol=1e-12)


def hand_mhn_self(anchors, negs, mask, s=SCALE):
    """mean over rows with a valid slot of log(1 + Σ_j e^{s(a,n_j) − s(a,a)})."""
    rows = []
    for i in range(mask.shape[0]):
        if mask[i].any():
            own = s * dot(anchors[i], anchors[i])
            rows.append(
                math.log(
                    1
                    + sum(
                        math.exp(s * dot(anchors[i], negs[i, j]) - own)
                        for j in range(mask.shape[1])
                        if mask[i, j]
                    )
                )
            )
    return sum(rows) / len(rows) if rows else 0.0


@pytest.mark.parametrize("b,k,seed", CASES)
def test_mhn_self_form_matches_hand(b, k, seed):
    """DESIGN §8 `self` form: anchored on the embedding itself, on both sides."""
    v, t, tn, m = make(b, k, seed=seed)
    _, out = run({"image_negatives": "feature", "mhn_form": "self"}, v, t, tn, m)
    assert out["mhn_text"].item() == pytest.approx(hand_mhn_self(t, tn, m), rel=1e-9, abs=1e-12)
    u = v[:, None, :] + (tn - t[:, None, :])
    assert out["mhn_image"].item() == pytest.approx(hand_mhn_self(v, u, m), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("mode", ["ahnpl", "reference", "clip"])
def test_logit_scale_has_a_gradient_at_100(mode):
    """ℓ = exp(log 100) in fp32 is just above 100, where OpenAI checkpoints start: the loss must
    not clamp it (the trainer clamps the parameter after the step), or ℓ gets no gradient."""
    v, t, tn, m = (x.float() if x.is_floating_point() else x for x in make(6, 3, d=8, seed=40))
    cfg = LossConfig(mode=mode, image_negatives="feature")
    param = torch.tensor(math.log(100.0), requires_grad=True)
    out = build_objective(cfg, 3, 6)(Encoded(v, t, tn, m, None, None, param.exp()))
    (grad,) = torch.autograd.grad(out["total"], param)

    def at(scale: float) -> float:  # float64 finite difference around ℓ = 100
        x = [a.double() if a.is_floating_point() else a for a in (v, t, tn, m)]
        ell = torch.tensor(scale, dtype=torch.float64)
        return build_objective(cfg, 3, 6)(Encoded(*x, None, None, ell))["total"].item()

    h = 1e-4
    want = 100.0 * (at(100.0 + h) - at(100.0 - h)) / (2 * h)
    assert abs(want) > 1e-3
    assert grad.item() == pytest.approx(want, rel=1e-3)


@pytest.mark.parametrize("mode", ["ahnpl", "reference", "clip"])
def test_loss_runs_in_fp32_under_autocast(mode):
    """Called inside bf16 autocast, the loss gives its fp32 value (ℓ = 100, D = 512)."""
    g = torch.Generator().manual_seed(41)
    b, k, d = 16, 3, 512
    v, t = (F.normalize(torch.randn(b, d, generator=g), dim=-1) for _ in range(2))
    tn = F.normalize(torch.randn(b, k, d, generator=g), dim=-1)
    m = torch.rand(b, k, generator=g) < 0.7
    cfg = LossConfig(mode=mode, image_negatives="feature")
    x = Encoded(v, t, tn, m, None, None, torch.tensor(100.0))
    want = build_objective(cfg, k, b)(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = build_objective(cfg, k, b)(x)
    for key, value in want.items():
        assert got[key].dtype == torch.float32, key
        assert got[key].item() == pytest.approx(value.item(), rel=1e-5, abs=1e-6), key


def test_all_invalid_rows_score_nothing():
    """Rows with no valid slot add no MHN/DM term; invalid embeddings never reach the loss."""
    v, t, tn, m = make(4, 3, seed=7)
    m[1:] = False
    m[0] = torch.tensor([True, False, True])
    _, out = run({"image_negatives": "feature"}, v, t, tn, m)
    garbage = tn.clone()
    garbage[~m] = 1e3  # invalid slots may hold anything
    _, out2 = run({"image_negatives": "feature"}, v, t, garbage, m)
    for key in ("itc", "mhn_text", "mhn_image", "dm_text", "total"):
        assert out[key].item() == pytest.approx(out2[key].item(), rel=1e-12)
    assert out["mhn_text"].item() == pytest.approx(hand_mhn((v, t), t, tn, m), rel=1e-9)

    m[:] = False
    _, out = run({}, v, t, tn, m)
    assert out["mhn"].item() == 0.0 and out["dm"].item() == 0.0
    assert out["itc"].item() == pytest.approx(hand_itc(v, t, tn, m), rel=1e-9)


def test_total_is_weighted_sum():
    v, t, tn, m = make(4, 3, seed=8)
    _, out = run({"lambda_mhn": 0.3, "lambda_dm": 0.7, "lambda_pos": 1.5}, v, t, tn, m)
    want = out["itc"] + 0.3 * out["mhn"] + 0.7 * out["dm"] + 1.5 * out["pos"]
    assert out["total"].item() == pytest.approx(want.item(), rel=1e-12)
    assert out["mhn"].item() == pytest.approx((out["mhn_text"] + out["mhn_image"]).item())


def test_pixel_negatives_per_slot_and_image_margin():
    v, t, tn, m = make(3, 3, seed=10, valid=1.0)
    pix = unit(3, 3, 6, seed=11)
    n = torch.tensor([[True, False, False], [False, False, False], [False, True, True]])
    _, out = run({"image_negatives": "both"}, v, t, tn, m, pix, n)
    u = torch.where(n[..., None], pix, feature_perturbation(v, t, tn))
    assert out["mhn_image"].item() == pytest.approx(hand_mhn((t, v), v, u, m | n), rel=1e-9)
    # Image-side margin over pixel slots only: gap = s(t,v) − s(t,u).
    want, _ = hand_dm(t, v, pix, n, "mean")
    assert out["dm_image"].item() == pytest.approx(want, rel=1e-9)

    _, only = run({"image_negatives": "pixel"}, v, t, tn, m, pix, n)
    assert only["mhn_image"].item() == pytest.approx(hand_mhn((t, v), v, pix, n), rel=1e-9)
    _, none = run({"image_negatives": "none"}, v, t, tn, m, pix, n)
    assert none["mhn_image"].item() == 0.0 and none["dm_image"].item() == 0.0


def test_feature_perturbation_gradient_reaches_image_only():
    v, t, tn, _ = make(2, 2, seed=12)
    for x in (v, t, tn):
        x.requires_grad_(True)
    feature_perturbation(v, t, tn).sum().backward()
    assert v.grad.abs().sum() > 0 and t.grad is None and tn.grad is None


def test_itc_image_negatives_option():
    v, t, tn, m = make(3, 2, seed=13, valid=1.0)
    _, out = run({"itc_image_negatives": True, "image_negatives": "feature"}, v, t, tn, m)
    u = feature_perturbation(v, t, tn)
    total = 0.0
    for i in range(3):
        i2t = [SCALE * dot(v[i], t[c]) for c in range(3)]
        i2t += [SCALE * dot(v[i], tn[c, j]) for c in range(3) for j in range(2)]
        t2i = [SCALE * dot(t[i], v[c]) for c in range(3)]
        t2i += [SCALE * dot(t[i], u[c, j]) for c in range(3) for j in range(2)]
        pos = SCALE * dot(v[i], t[i])
        total += 0.5 * (lse(i2t) - pos + lse(t2i) - pos)
    assert out["itc"].item() == pytest.approx(total / 3, rel=1e-9)


def test_clip_mode_is_plain_clip():
    v, t, tn, m = make(4, 3, seed=14)
    _, out = run({"mode": "clip"}, v, t, tn, m)
    logits = SCALE * v @ t.T
    labels = torch.arange(4)
    want = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    assert out["total"].item() == pytest.approx(want.item(), rel=1e-12)


def test_gradcheck_float64():
    """Every differentiable path (τ fixed: the batch margins are detached by definition)."""
    b, k, d = 3, 2, 4
    v, t, tn, m = make(b, k, d=d, seed=15)
    m[0, 0] = True
    pix = unit(b, k, d, seed=16)
    n = torch.tensor([[True, False], [False, False], [False, True]])
    cfg = LossConfig(
        image_negatives="pixel",
        margin="fixed",
        margin_fixed=3.0,
        itc_image_negatives=True,
        alpha=0.9,
    )
    loss = AHNPLLoss(cfg, k)
    scale = torch.tensor(SCALE, dtype=torch.float64)
    inputs = [x.clone().requires_grad_(True) for x in (v, t, tn, pix, scale)]

    def f(v, t, tn, pix, s):
        out = loss(v, t, tn, m, pix, n, s)
        return torch.stack([out[key] for key in ("itc", "mhn", "dm", "pos", "total")])

    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, fast_mode=True)


def test_batch_margin_and_perturbation_are_stop_gradient():
    """Gradients equal those of the same loss with τ and t⁻ − t held constant."""
    v, t, tn, m = make(4, 3, seed=19, valid=0.8)
    leaves = [x.clone().requires_grad_(True) for x in (v, t, tn)]
    loss = AHNPLLoss(LossConfig(image_negatives="feature", margin="mean", mhn_form="positive"), 3)
    out = loss(*leaves, m, None, None, torch.tensor(SCALE, dtype=torch.float64))
    got = torch.autograd.grad(out["dm_text"] + out["mhn_image"], leaves, allow_unused=True)

    v2, t2, tn2 = (x.clone().requires_grad_(True) for x in (v, t, tn))
    tau = loss.margins()["text"]
    gap = SCALE * ((v2 * t2).sum(-1)[:, None] - torch.einsum("bd,bkd->bk", v2, tn2))
    dm = (F.relu(tau - gap) * m).sum() / m.sum()
    u = v2[:, None, :] + (tn - t[:, None, :])  # a constant direction
    pos = SCALE * (t2 * v2).sum(-1)
    neg = (SCALE * torch.einsum("bd,bkd->bk", v2, u)).masked_fill(~m, float("-inf"))
    per_row = torch.logsumexp(torch.cat([pos[:, None], neg], 1), 1) - pos
    has = m.any(1)
    mhn_i = per_row[has].sum() / has.sum()
    want = torch.autograd.grad(dm + mhn_i, [v2, t2, tn2])
    for g, w in zip(got, want):
        assert torch.allclose(g, w, atol=1e-10)


def test_shape_errors_name_the_argument():
    v, t, tn, m = make(3, 2, seed=18)
    loss = AHNPLLoss(LossConfig(), 2)
    with pytest.raises(ValueError, match="neg_text_mask"):
        loss(v, t, tn, m[:, :1], None, None, torch.tensor(SCALE))
    with pytest.raises(ValueError, match="neg_image_emb"):
        loss(v, t, tn, m, tn, None, torch.tensor(SCALE))


# --- reference mode: the published code's loss, recomputed from its definitions ---------------


def hand_reference(v, t, tn, m, tau_prev, cfg, s=SCALE):
    """The published Clip_DALoss (single GPU, no positive term), written out literally.

    At K = 1 its `.squeeze()` makes the margin grid [B,B]: entry (i, j) compares caption i
    with sample j's negative, masked by m_i; τ has one entry per column.
    """
    b, k, d = tn.shape
    base = [[s * dot(v[i], t[c]) for c in range(b)] for i in range(b)]
    flat = tn.reshape(-1, d)
    itc = 0.0
    for i in range(b):
        i2t = base[i] + [s * dot(v[i], flat[c]) for c in range(b * k)]
        t2i = [base[c][i] for c in range(b)]
        itc += 0.5 * (lse(i2t) - base[i][i] + lse(t2i) - base[i][i]) / b
    if k == 1:
        cols = b
        mk = [[float(m[i, 0])] * b for i in range(b)]
        da = [[s * dot(v[j], tn[j, 0]) * mk[i][j] for j in range(b)] for i in range(b)]
    else:
        cols = k
        mk = [[float(m[i, j]) for j in range(k)] for i in range(b)]
        da = [[s * dot(v[i], tn[i, j]) * mk[i][j] for j in range(k)] for i in range(b)]
    hinges = [
        max(0.0, tau_prev[j] + da[i][j] - base[i][i]) * mk[i][j]
        for i in range(b)
        for j in range(cols)
    ]
    dm = sum(hinges) / (b * cols)
    # Its negative loss: target of row i is flat negative i.
    text_side = (
        sum(
            lse([s * dot(t[i], flat[c]) for c in range(b * k)]) - s * dot(t[i], flat[i])
            for i in range(b)
        )
        / b
    )
    u = (v[:, None, :] + (tn - t[:, None, :])).reshape(-1, d)
    image_side = (
        sum(
            lse([s * dot(v[i], u[c]) for c in range(b * k)]) - s * dot(v[i], u[i]) for i in range(b)
        )
        / b
    )
    diag_mean = sum(base[i][i] for i in range(b)) / b
    tau_new = []
    for j in range(cols):
        nz = [da[i][j] for i in range(b) if da[i][j] != 0]
        if cfg.margin == "mean":
            tau = diag_mean - (sum(nz) / len(nz) if nz else 0.0)
        else:
            tau = max(base[i][i] * mk[i][j] - da[i][j] for i in range(b)) / 5
        tau_new.append(min(max(tau, 0.0), cfg.tau_max))
    total = itc + cfg.lambda_dm * dm + cfg.lambda_mhn * (text_side + image_side)
    terms = {"itc": itc, "dm": dm, "pos": 0.0, "mhn_text": text_side, "mhn_image": image_side}
    return {**terms, "total": total}, tau_new


@pytest.mark.parametrize("how", ["mean", "max"])
@pytest.mark.parametrize("b,k,seed", [(4, 3, 20), (1, 2, 21), (3, 1, 22), (1, 1, 24), (6, 5, 23)])
def test_reference_matches_hand_over_two_steps(how, b, k, seed):
    """Step 1 uses τ = 0; step 2 uses τ computed from step 1 (margins lag one step); no
    positive term; at K = 1 the published broadcast to [B,B]. A new epoch resets τ."""
    cfg = LossConfig(mode="reference", margin=how)
    objective = build_objective(cfg, k, b)
    tau = [0.0] * (b if k == 1 else k)
    for step in range(2):
        v, t, tn, m = make(b, k, seed=seed + 100 * step)
        out = objective(Encoded(v, t, tn, m, None, None, torch.tensor(SCALE, dtype=torch.float64)))
        want, tau = hand_reference(v, t, tn, m, tau, cfg)
        for key, value in want.items():
            assert out[key].item() == pytest.approx(value, rel=1e-9, abs=1e-12), (step, key)
        assert objective.margins()["text"].tolist() == pytest.approx(tau, rel=1e-9, abs=1e-12)
    objective.on_epoch_start()
    assert objective.margins()["text"].abs().sum() == 0
    # Fixed shapes: a fresh objective loads the state with a plain load_state_dict.
    fresh = build_objective(cfg, k, b)
    fresh.load_state_dict(objective.state_dict())


def test_reference_objective_wants_the_published_inputs():
    objective = build_objective(LossConfig(mode="reference"), 3, 4)
    assert objective.encode_invalid_slots and objective.invalid_slot_text == "###"
    assert not objective.wants_pixel_negatives


def test_reference_gradcheck():
    v, t, tn, m = make(3, 2, d=4, seed=30)
    cfg = LossConfig(mode="reference")
    inputs = [x.clone().requires_grad_(True) for x in (v, t, tn)]

    def f(v, t, tn):
        loss = ReferenceLoss(cfg, 2, 3)  # fresh: τ = 0 at every evaluation
        out = loss(v, t, tn, m, None, None, torch.tensor(SCALE, dtype=torch.float64))
        # mhn_image is left out: its perturbation is a stop-gradient by definition.
        return torch.stack([out[key] for key in ("itc", "dm", "mhn_text")])

    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, fast_mode=True)
