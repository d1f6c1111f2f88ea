"""``static``: the object stays as last observed (the zero-motion lower bound on future frames)."""
from __future__ import annotations

from typing import Any

import numpy as np

from methods.base import Method, Observation, Prediction, Query
from methods.baselines.spec import STATIC, StaticConfig
from methods.rendering import isotropic_scales, render_prediction


class StaticBaseline(Method):
    """The object stays as last observed: the lower bound every method must beat on future frames.

    It is given the observed 3D surface tracks and the canonical Gaussians, so its observed frames
    reproduce the inputs; every future frame repeats the last observed state.
    """

    card = STATIC
    Config = StaticConfig

    def fit(self, obs: Observation) -> Any:
        assert obs.tracks is not None and obs.canonical is not None
        return {"tracks": obs.tracks, "canonical": isotropic_scales(obs.canonical), "background": obs.background}

    def predict(self, asset: Any, query: Query) -> Prediction:
        tr = asset["tracks"]
        idx = np.minimum(np.arange(query.n_frames), tr.shape[0] - 1)
        return render_prediction(tr[idx], asset["canonical"], query, asset["background"])
