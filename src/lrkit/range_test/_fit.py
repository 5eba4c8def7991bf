"""A centred local fit of the loss over log10(lr): no lag, resistant to spikes."""

from __future__ import annotations

import numpy as np

__all__ = ["local_fit", "running_median"]


def running_median(y: np.ndarray, window: int = 5) -> np.ndarray:
    """Centred running median of odd ``window`` (shrinking at the ends).

    It removes isolated spikes of up to ``window // 2`` points and leaves every
    monotone stretch of the curve exactly as it is.

    Example:
        >>> running_median(np.array([1.0, 2.0, 9.0, 4.0, 5.0]), 3).tolist()
        [1.0, 2.0, 4.0, 5.0, 5.0]
    """
    y = np.asarray(y, dtype=np.float64)
    half = window // 2
    out = y.copy()
    if half == 0 or len(y) < 3:
        return out
    if len(y) > 2 * half:
        windows = np.lib.stride_tricks.sliding_window_view(y, 2 * half + 1)
        out[half : len(y) - half] = np.median(windows, axis=1)
    for i in [*range(min(half, len(y))), *range(max(len(y) - half, half), len(y))]:
        k = min(half, i, len(y) - 1 - i)
        out[i] = np.median(y[i - k : i + k + 1])
    return out


def local_fit(
    x: np.ndarray, y: np.ndarray, bandwidth: float, *, median_window: int = 5
) -> tuple[np.ndarray, np.ndarray, float]:
    """Local quadratic regression (LOESS) of ``y`` over ``x``, evaluated at every ``x``.

    After a centred running median of ``median_window`` points (against single-batch
    spikes), the fit at each ``x_j`` minimises
    ``sum_i w_ij (y_i - a - b d_ij - c d_ij**2)**2`` with ``d_ij = x_i - x_j`` and
    Gaussian weights ``w_ij = exp(-d_ij**2 / (2 h**2))``. Every window is centred, so
    unlike an EMA the fit has no lag: a curve's features stay where they are.

    Args:
        x: increasing abscissae (log10 of the learning rates).
        y: finite losses, same length.
        bandwidth: ``h``, in units of ``x`` (decades).
        median_window: points in the spike filter (1: none).

    Returns:
        ``(fit, slope, noise)``: the fitted values ``a_j``, the slopes ``b_j = dy/dx``
        and a robust estimate of the per-point noise (1.4826 x MAD of ``y - fit``).

    Example:
        >>> x = np.linspace(-3.0, 0.0, 31)
        >>> fit, slope, noise = local_fit(x, 2.0 - 0.5 * x, bandwidth=0.3)
        >>> bool(np.allclose(fit, 2.0 - 0.5 * x)), bool(np.allclose(slope, -0.5))
        (True, True)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    z = running_median(y, median_window) if median_window > 1 else y
    d = (x[None, :] - x[:, None]) / bandwidth  # scaled offsets, rows: evaluation points
    w = np.exp(-0.5 * d**2)
    powers = [np.sum(w * d**k, axis=1) for k in range(5)]
    a = np.stack([np.stack([powers[i + j] for j in range(3)], axis=-1) for i in range(3)], axis=-2)
    b = np.stack([np.sum(w * d**k * z[None, :], axis=1) for k in range(3)], axis=-1)
    a += 1e-10 * np.eye(3) * powers[0][:, None, None]
    coef = np.linalg.solve(a, b[..., None])[..., 0]
    fit, slope = coef[:, 0], coef[:, 1] / bandwidth
    noise = 1.4826 * float(np.median(np.abs(y - fit))) if len(y) else 0.0
    return fit, slope, noise
