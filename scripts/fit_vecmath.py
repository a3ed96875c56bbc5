"""Fits the polynomials of the vectorised float32 math (cpp/src/kernels/cpu/vecmath_isa.inc).

    python scripts/fit_vecmath.py      (a developer tool: needs scipy and mpmath, which pyseq does not)

erfc, for the GELU's erf form: for z >= 0, erfc(z) = t * exp(-z^2 + h(t)) with t = 1 / (1 + z / 2)
in (0, 1]. h is smooth on [0, 1] (erfc(z) e^(z^2) ~ 1 / (z sqrt(pi)) as z grows, so h has a finite
limit at t = 0), and a least-squares Chebyshev fit in u = 2t - 1 of degree 12 is within 6e-9
relative of erfc, a tenth of float32's 6e-8. The float version (z <= 10.3) has float coefficients
of degree 10, but for a double constant term: 1e-8.

e^r, for exp (softmax, sigmoid): e^r = 1 + r + r^2 Q(r) on r in [-ln2/2, ln2/2], Q of degree 4
(degree 5 in double, for the GELUs evaluated in double);
and for tanh: e^r - 1 = r + r^2 Q(r) on [0, ln2], Q of degree 5. Fitted against 40-digit values of
Q = (e^r - 1 - r) / r^2 with the coefficients rounded to float32, as the kernels use them.

Prints each polynomial's coefficients, highest power first (for Horner).
"""

import mpmath
import numpy as np
from scipy.special import erfcx  # erfc(z) * exp(z^2), accurate where erfc itself underflows


def fit_erfc(degree=12):
    u_nodes = np.cos(np.linspace(0, np.pi, 20001))  # dense near both ends of [-1, 1]
    t = (u_nodes + 1) / 2
    t = t[t > 1e-6]
    z = 2 / t - 2
    h = np.log(erfcx(z) / t)
    coef = np.polynomial.chebyshev.cheb2poly(np.polynomial.chebyshev.chebfit(2 * t - 1, h, degree))
    # Check on a fine grid of z up to 1e6 (t down to 2e-6).
    zz = np.concatenate([np.linspace(0, 12, 200001), np.geomspace(12, 1e6, 2000)])
    tt = 1 / (1 + zz / 2)
    worst = np.abs(np.exp(np.polyval(coef[::-1], 2 * tt - 1)) * tt / erfcx(zz) - 1).max()
    return coef, f"max relative error of erfc {worst:.2e}"


def fit_erfc_float(degree=10, z_max=10.3):
    """h for the float erf-form GELU (0 <= z <= z_max, beyond which it underflows): least squares on
    Chebyshev nodes, the coefficients rounded to float32 one at a time from c1 up, the others refitted
    after each, so that they absorb the rounding; the constant term stays in double (the kernel adds
    it as a float and a low part)."""
    lo = 2 / (1 + z_max / 2) - 1 - 0.01
    u = np.cos(np.linspace(0, np.pi, 4001)) * (1 - lo) / 2 + (1 + lo) / 2
    t = (u + 1) / 2
    h = np.log(erfcx(2 / t - 2) / t)
    powers = np.vander(u, degree + 1, increasing=True)
    coef = np.zeros(degree + 1)
    for k in range(1, degree + 2):  # c1, ..., c_degree rounded in turn; the last pass refits c0 alone
        free = [0, *range(k, degree + 1)]
        rest = h - np.delete(powers, free, axis=1) @ np.delete(coef, free)
        coef[free] = np.linalg.lstsq(powers[:, free], rest, rcond=None)[0]
        if k <= degree:
            coef[k] = np.float32(coef[k])
    zz = np.linspace(0, z_max, 400001)
    tt = 1 / (1 + zz / 2)
    worst = np.abs(np.exp(np.polyval(coef[::-1], 2 * tt - 1)) * tt / erfcx(zz) - 1).max()
    c0 = float(np.float32(coef[0]))
    return np.concatenate([[c0], coef[1:]]), f"max relative error of erfc {worst:.2e}, c0's low part {coef[0] - c0:.8g}"


def fit_expm1_tail(a, b, degree, dtype=np.float32):
    """Q with e^r - 1 = r + r^2 Q(r) on [a, b], its coefficients rounded to `dtype`; the error
    reported is relative to e^r - 1."""
    mpmath.mp.dps = 40

    def q_exact(r):
        if r == 0:
            return 0.5
        r = mpmath.mpf(r)
        return (mpmath.expm1(r) - r) / r**2

    nodes = np.cos(np.linspace(0, np.pi, 2001)) * (b - a) / 2 + (a + b) / 2
    cheb = np.polynomial.chebyshev.chebfit((2 * nodes - a - b) / (b - a), [float(q_exact(v)) for v in nodes], degree)
    in_r = np.polynomial.Polynomial([-(a + b) / (b - a), 2 / (b - a)])  # r -> Chebyshev's [-1, 1]
    coef = np.polynomial.Polynomial(np.polynomial.chebyshev.cheb2poly(cheb))(in_r).coef.astype(dtype)
    worst = max(abs(v * v * (mpmath.polyval([mpmath.mpf(float(c)) for c in coef[::-1]], v) - q_exact(v))
                    / mpmath.expm1(v)) for v in np.linspace(a, b, 4001) if v != 0)
    return coef, f"max relative error of e^r - 1 {float(worst):.2e}"


LN2 = float(mpmath.log(2))
FITS = (("erfc h(t), in u = 2t - 1", fit_erfc),
        ("float erfc h(t), in u = 2t - 1", fit_erfc_float),
        ("double exp Q(r), r in [-ln2/2, ln2/2]", lambda: fit_expm1_tail(-LN2 / 2, LN2 / 2, 5, np.float64)),
        ("exp Q(r), r in [-ln2/2, ln2/2]", lambda: fit_expm1_tail(-LN2 / 2, LN2 / 2, 4)),
        ("tanh's e^r - 1: Q(r), r in [0, ln2]", lambda: fit_expm1_tail(0, LN2, 5)))
for name, fit in FITS:
    coef, check = fit()
    print(f"{name}: degree {len(coef) - 1}, {check}")
    print(",\n".join(f"{c:.17g}" for c in coef[::-1]))
