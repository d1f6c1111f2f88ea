"""The hand-written adjoint (``adjoint="graph"``, physics/spring_mass/adjoint.py) against warp's tape adjoint of
the same substep kernels, in float64, on scenes that bounce, slide, pull control springs and use every force law
and ground model; and the same gradient bytes on 1-3 CPU threads. (The independent check, a plain torch-autograd
twin, is in test_spring_mass_gradients.py, which runs the default adjoint.)"""
import numpy as np
import pytest

from physics.spring_mass import SpringMassParams, control_springs, knn_springs

pytest.importorskip("warp")

CASES = {
    "phystwin_axial": SpringMassParams(force_law="phystwin", ground_model="phystwin", total_mass=2.0, drag=3.0),
    "phystwin_full_dashpot": SpringMassParams(force_law="phystwin", ground_model="phystwin", total_mass=2.0,
                                              drag=1.0, dashpot_axial=False),
    "spring_gaus_pk": SpringMassParams(force_law="spring_gaus", ground_model="spring_gaus", total_mass=2.0, p_k=0.3),
    "free_fall": SpringMassParams(force_law="spring_gaus", ground_model="none", total_mass=2.0),
    "controls": SpringMassParams(force_law="phystwin", ground_model="phystwin", total_mass=2.0, drag=1.0,
                                 control_stiffness=300.0),
}


def _grads(p, adjoint, threads, precision="float64", T=6, S=30, seed=1, keep=False, keep_bytes=1 << 30, out=None):
    from physics.spring_mass.engine import Engine

    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.4, (40, 3))
    x[:, 2] += 0.01 - x[:, 2].min()  # lands in the first frame
    e, r = knn_springs(x, 6)
    controls = cedges = None
    if p.control_stiffness:
        c0 = x[np.argsort(x[:, 2])[-2:]] + [0.0, 0.0, 0.02]
        controls = c0[None] + np.linspace(0, 1, T)[:, None, None] * np.array([0.15, 0.05, 0.1])
        cedges, _ = control_springs(controls[0], x, 0.15, 6)
    eng = Engine(x, e, r, p, T, 30.0, S, (0.0, 0.0, -9.81), controls, cedges, precision=precision,
                 adjoint=adjoint, threads=threads, keep_bytes=keep_bytes)
    eng.set_params(np.linspace(20.0, 40.0, len(r)), np.full(len(r), 0.05), 0.3, 0.5)
    v0 = np.tile([0.4, 0.1, -1.5], (len(x), 1)) + rng.normal(0, 0.2, x.shape)
    xs, vs = eng.forward(x, v0, keep=keep)
    if out is not None:
        out.update(xs=xs, vs=vs, eng=eng)
    assert xs[:, :, 2].min() < 0.005 or p.ground_model == "none"
    g = eng.backward(xs, vs, rng.normal(size=xs.shape), rng.normal(size=vs.shape))
    return {k: np.asarray(v) for k, v in g.items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hand_adjoint_matches_the_tape_and_is_thread_count_invariant(case):
    p = CASES[case]
    tape = _grads(p, "tape", 1)
    hand = [_grads(p, "graph", t) for t in (1, 2, 3)]
    for key, ref in tape.items():
        scale = np.abs(ref).max()
        if key in ("restitution", "friction") and scale == 0:  # no such parameter in this ground model
            assert np.abs(hand[0][key]).max() == 0
            continue
        assert scale > 0, key
        rel = float(np.abs(hand[0][key] - ref).max() / scale)
        assert rel < 1e-12, (key, rel)
        for other in hand[1:]:
            assert other[key].tobytes() == hand[0][key].tobytes(), key


def test_hand_adjoint_float32_near_float64():
    p = CASES["phystwin_axial"]
    g32, g64 = _grads(p, "graph", 2, "float32"), _grads(p, "graph", 1, "float64")
    for key in ("x0", "v0", "k", "c"):
        rel = float(np.abs(g32[key] - g64[key]).max() / np.abs(g64[key]).max())
        assert rel < 1e-3, (key, rel)


def test_unknown_adjoint_is_refused():
    from physics.spring_mass.engine import Engine

    x = np.random.default_rng(0).random((5, 3))
    e, r = knn_springs(x, 2)
    with pytest.raises(ValueError, match="adjoint must be one of"):
        Engine(x, e, r, SpringMassParams(), 2, 30.0, 4, (0, 0, -9.81), None, None, adjoint="magic")


@pytest.mark.parametrize("case", ["controls", "phystwin_axial"])
def test_kept_forward_states_give_the_same_frames_and_gradient_bytes(case):
    """A ``keep`` forward runs its last frames through the recording graph and the backward restores their
    substep states instead of simulating them again: the same frame bytes and the same gradient bytes as the
    forward + re-simulation, whether every frame, some (a small ``keep_bytes``) or only the last is kept."""
    p = CASES[case]
    for threads in (1, 2):
        ref_run: dict = {}
        ref = _grads(p, "graph", threads, out=ref_run)
        frame = ref_run["eng"]._adjoint.frame_bytes()
        for keep_bytes, n_recorded in ((1 << 30, 5), (2 * frame, 3), (0, 1)):
            run: dict = {}
            got = _grads(p, "graph", threads, keep=True, keep_bytes=keep_bytes, out=run)
            assert run["xs"].tobytes() == ref_run["xs"].tobytes() and run["vs"].tobytes() == ref_run["vs"].tobytes()
            assert run["eng"]._kept_from(True) == 5 - n_recorded
            for key in ref:
                assert got[key].tobytes() == ref[key].tobytes(), (threads, keep_bytes, key)


def test_kept_states_are_not_used_for_other_frames_or_parameters():
    p = CASES["controls"]
    run: dict = {}
    _grads(p, "graph", 1, keep=True, out=run)
    eng, xs, vs = run["eng"], run["xs"], run["vs"]
    rng = np.random.default_rng(5)
    gx, gv = rng.normal(size=xs.shape), rng.normal(size=vs.shape)
    adj = eng._adjoint
    assert not adj.kept  # the backward consumed them
    eng.forward(xs[0], vs[0], keep=True)
    assert sorted(adj.kept) == [0, 1, 2, 3] and adj.resident == 4  # copies of frames 0-3, frame 4 in the blocks
    # other frames than the kept forward's (a perturbed start): the backward re-simulates them
    xs2, vs2 = eng.forward(xs[0] + 1e-3, vs[0])
    assert not adj.kept and adj.resident is None
    plain = eng.backward(xs2, vs2, gx, gv)
    eng.forward(xs[0], vs[0], keep=True)
    mixed = eng.backward(xs2, vs2, gx, gv)  # states kept for xs, asked for xs2
    for key in plain:
        assert np.asarray(mixed[key]).tobytes() == np.asarray(plain[key]).tobytes(), key
    # new parameters after the forward: the kept states are dropped
    eng.forward(xs[0], vs[0], keep=True)
    eng.set_params(np.full(len(eng.rest), 25.0), np.full(len(eng.rest), 0.05), 0.3, 0.5)
    assert not adj.kept and adj.resident is None
