"""fewshot_lib.viz: the smoothing of training curves (behaviour, not pixels), and the loss figure's labels."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fewshot_lib.viz import LOG_LABELS, default_window, plot_losses, plot_smoothed, smooth  # noqa: E402


@pytest.mark.parametrize("window", [1, 2, 5, 11, 50])
def test_a_constant_stays_constant_and_the_length_is_kept(window):
    values = np.full(23, 0.37)
    smoothed = smooth(values, window)
    assert smoothed.shape == values.shape
    np.testing.assert_allclose(smoothed, values, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [0, 1, 2, 4, 30])
def test_the_length_is_kept_even_when_the_window_is_longer_than_the_curve(n):
    assert smooth(np.arange(n), window=9).shape == (n,)


def test_window_one_returns_the_values():
    values = np.random.default_rng(0).normal(size=17)
    np.testing.assert_array_equal(smooth(values, 1), values)


def test_a_step_is_smoothed_into_a_ramp_centred_on_it():
    values = np.r_[np.zeros(10), np.ones(10)]                    # a step between index 9 and 10
    smoothed = smooth(values, window=5)
    assert np.all(np.diff(smoothed) >= 0), "the smoothed step must still only go up"
    np.testing.assert_allclose(smoothed[:8], 0)                  # far from the step: unchanged
    np.testing.assert_allclose(smoothed[12:], 1)
    np.testing.assert_allclose(smoothed[7:13], [0, 0.2, 0.4, 0.6, 0.8, 1])   # a ramp over the 5-step window
    np.testing.assert_allclose(smoothed[9] + smoothed[10], 1)    # centred: no lag, symmetric about the step


def test_a_linear_trend_is_kept_and_noise_is_reduced():
    rng = np.random.default_rng(0)
    steps = np.arange(200)
    trend = 3 - 0.01 * steps
    smoothed = smooth(trend + rng.normal(0, 0.5, 200), window=21)
    np.testing.assert_allclose(smooth(trend, 21)[10:-10], trend[10:-10], atol=1e-12)   # a centred mean: no lag
    assert np.std(smoothed[10:-10] - trend[10:-10]) < 0.5 / 3    # √21 ≈ 4.6 times less noise


def test_the_ends_average_only_existing_values():
    np.testing.assert_allclose(smooth([1, 2, 3, 4], window=3), [1.5, 2, 3, 3.5])


def test_smoothing_stays_within_the_range_of_the_data():
    values = np.random.default_rng(1).uniform(-2, 5, 50)
    smoothed = smooth(values, 7)
    assert smoothed.min() >= values.min()
    assert smoothed.max() <= values.max()


def test_a_nan_spoils_only_its_window():
    values = np.ones(20)
    values[10] = np.nan
    assert np.isnan(smooth(values, 5)).sum() == 5


@pytest.mark.parametrize("window", [0, -3, 2.5])
def test_a_bad_window_is_refused(window):
    with pytest.raises(ValueError, match="window"):
        smooth([1.0, 2.0], window)


def test_only_a_curve_is_smoothed():
    with pytest.raises(ValueError, match="1-D"):
        smooth(np.ones((3, 3)))


def test_default_window_is_odd_and_about_a_tenth():
    assert [default_window(n) for n in (0, 3, 30, 300)] == [1, 1, 3, 31]


def test_plot_smoothed_draws_raw_values_faint_and_their_trend_bold():
    fig, ax = plt.subplots()
    trend = plot_smoothed(ax, range(10), np.arange(10.0) % 3, window=3, label="trend")
    raw, bold = ax.get_lines()
    assert bold is trend and trend.get_label() == "trend"
    assert raw.get_alpha() < 0.5 and bold.get_alpha() is None
    assert raw.get_color() == bold.get_color()
    np.testing.assert_allclose(bold.get_ydata(), smooth(np.arange(10.0) % 3, 3))
    plt.close(fig)


def test_plot_losses_labels_both_axes_of_every_panel():
    rows = [{"step": s, "L_CNT": 5 - s / 10, "L_DSC": 2.0, "seconds": s} for s in range(1, 31)]
    fig = plot_losses(rows)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["L_CNT", "L_DSC"]      # only the terms that were logged
    for ax, key in zip(axes, ("L_CNT", "L_DSC")):
        assert "step" in ax.get_xlabel()
        assert ax.get_ylabel() == LOG_LABELS[key] and "unitless" in ax.get_ylabel()
        assert len(ax.get_lines()) >= 2                              # raw and smoothed
    plt.close(fig)


def test_episodic_training_figure_draws_every_box_and_arrow():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from fewshot_lib.viz import draw_episodic_training

    ax = draw_episodic_training()
    assert sum(isinstance(p, FancyBboxPatch) for p in ax.patches) == 8
    assert sum(isinstance(p, FancyArrowPatch) for p in ax.patches) == 8
    assert any("amortised" in t.get_text() for t in ax.texts) and any("optimisation" in t.get_text() for t in ax.texts)
