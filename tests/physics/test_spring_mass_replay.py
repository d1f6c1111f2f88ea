"""Forward modes of the spring-mass engine: captured frame graphs on 1-3 CPU threads, fused launches and the
tape kernels give the same bytes; a tiny spring-mass dataset is byte-identical across thread counts."""
import numpy as np
import pytest

from physics.spring_mass import SpringMassParams, knn_springs

pytest.importorskip("warp")


def _scene(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x0 = rng.random((n, 3)) * 0.3 + [0.0, 0.0, 0.05]
    edges, rest = knn_springs(x0, 8)
    return x0, edges, rest


def _engine(params, x0, edges, rest, T, S, mode, threads, controls=None, cedges=None):
    from physics.spring_mass.engine import Engine

    eng = Engine(x0, edges, rest, params, T, 30.0, S, (0.0, 0.0, -9.81), controls, cedges, mode=mode, threads=threads)
    eng.set_params(np.linspace(20.0, 60.0, len(rest)), np.full(len(rest), 0.02), params.friction, params.restitution)
    return eng


CASES = {
    "phystwin": SpringMassParams(force_law="phystwin", ground_model="phystwin", mass=0.01, drag=0.5,
                                 friction=0.4, restitution=0.6),
    "spring_gaus_pk": SpringMassParams(force_law="spring_gaus", ground_model="spring_gaus", mass=0.01, p_k=0.3,
                                       friction=0.3),
    # Hooke laws run the CPU forward through the C++ vector-lane kernels (native_kernels.py), the power law does not
    "spring_gaus": SpringMassParams(force_law="spring_gaus", ground_model="spring_gaus", mass=0.01, friction=0.3),
    "phystwin_isotropic": SpringMassParams(force_law="phystwin", ground_model="none", mass=0.01, drag=0.2,
                                           dashpot_axial=False),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("S", [40, 41])  # an odd count ends each frame in the other buffer
def test_every_mode_and_thread_count_gives_the_tape_bytes(case, S):
    p = CASES[case]
    x0, edges, rest = _scene()
    T = 5
    rng = np.random.default_rng(1)
    ctrl = np.cumsum(rng.normal(0, 0.004, (T, 2, 3)), axis=0) + x0[:2][None]  # two grippers moving
    cedges = np.array([[0, 2], [0, 3], [1, 4], [1, 5]])
    v0 = rng.normal(0, 0.3, x0.shape)
    ref, _ = _engine(p, x0, edges, rest, T, S, "tape", 1, ctrl, cedges).forward(x0, v0)
    assert np.abs(ref[-1] - ref[0]).max() > 1e-3 and ref[:, :, 2].min() <= 0.002 + p.ground_height  # moved, hit the ground
    for mode, threads in [("fused", 1), ("graph", 1), ("graph", 2), ("graph", 3)]:
        eng = _engine(p, x0, edges, rest, T, S, mode, threads, ctrl, cedges)
        xs, vs = eng.forward(x0, v0)
        assert xs.tobytes() == ref.tobytes(), (mode, threads)
        # new parameters written into the same arrays: the captured graph sees them
        eng.set_params(np.full(len(rest), 90.0), np.full(len(rest), 0.05), 0.1, 0.2)
        xs2, _ = eng.forward(x0, v0)
        tape = _engine(p, x0, edges, rest, T, S, "tape", 1, ctrl, cedges)
        tape.set_params(np.full(len(rest), 90.0), np.full(len(rest), 0.05), 0.1, 0.2)
        assert xs2.tobytes() == tape.forward(x0, v0)[0].tobytes(), (mode, threads)
        assert xs2.tobytes() != xs.tobytes()


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_native_lane_kernels_give_the_warp_kernels_bytes(precision):
    """The C++ vector-lane passes against the warp block kernels they replace, for every Hooke law and dashpot,
    on a spring count that leaves a tail after the last full group of lanes (and controls, ground contact)."""
    from physics.spring_mass.engine import Engine

    x0, edges, rest = _scene(47, seed=3)
    assert len(edges) % 8 and len(edges) % 4  # a scalar tail in both precisions
    rng = np.random.default_rng(4)
    T, S = 4, 33
    ctrl = np.cumsum(rng.normal(0, 0.004, (T, 1, 3)), axis=0) + x0[:1][None]
    v0 = rng.normal(0, 0.3, x0.shape)
    k, c = rng.uniform(20.0, 60.0, len(rest)), rng.uniform(0.0, 0.05, len(rest))
    for case in ("phystwin", "spring_gaus", "phystwin_isotropic"):
        out = {}
        for native in (False, True):
            eng = Engine(x0, edges, rest, CASES[case], T, 30.0, S, (0.0, 0.0, -9.81), ctrl, np.array([[0, 5]]),
                         precision=precision, mode="fused", native=native)
            assert eng.native is native
            eng.set_params(k, c, 0.3, 0.5)
            out[native] = eng.forward(x0, v0)
        assert np.abs(out[True][0][-1] - x0).max() > 1e-3, case
        assert out[True][0].tobytes() == out[False][0].tobytes(), case
        assert out[True][1].tobytes() == out[False][1].tobytes(), case


def test_native_kernels_only_where_they_apply():
    from physics.spring_mass.engine import Engine

    x0, edges, rest = _scene(20)
    args = (x0, edges, rest)
    assert Engine(*args, CASES["phystwin"], 2, 30.0, 4, (0, 0, -9.81), None, None).native
    assert not Engine(*args, CASES["spring_gaus_pk"], 2, 30.0, 4, (0, 0, -9.81), None, None).native
    with pytest.raises(ValueError, match="p_k"):
        Engine(*args, CASES["spring_gaus_pk"], 2, 30.0, 4, (0, 0, -9.81), None, None, native=True)


def test_gradients_unchanged_by_the_forward_mode():
    """``backward`` re-simulates from the stored frames: a graph forward feeds it the tape's states."""
    p = CASES["phystwin"]
    x0, edges, rest = _scene(40)
    grads = []
    gx = np.random.default_rng(2).normal(size=(4,) + x0.shape)  # not uniform: internal forces cancel in a sum
    for mode, threads in [("tape", 1), ("graph", 2)]:
        eng = _engine(p, x0, edges, rest, 4, 30, mode, threads)
        xs, vs = eng.forward(x0, np.zeros_like(x0))
        g = eng.backward(xs, vs, gx, np.zeros_like(vs))
        grads.append(g)
    for key in ("x0", "v0", "k", "c", "friction", "restitution"):
        assert np.array_equal(grads[0][key], grads[1][key]), key
    assert np.abs(grads[0]["k"]).max() > 0


def test_tiny_spring_mass_dataset_is_byte_identical_across_thread_counts(tmp_path, monkeypatch):
    from datagen.generate import generate
    from datagen.profile import load_profile

    for var in ("PHYSRECON_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TI_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    prof = load_profile("tiny_interact").model_copy(update={"n_samples": 1})
    files = []
    for threads in (1, 2):
        recs = generate(tmp_path / f"t{threads}", prof, threads=threads)
        assert recs[0]["status"] == "ok"
        files.append({k: v for k, v in recs[0]["files"].items() if k.startswith("gt/")})
    assert files[0] and files[0] == files[1]
