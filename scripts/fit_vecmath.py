"""Fits the polynomials of the vectorised float32 math (cpp/src/kernels/cpu/vecmath_isa.inc).

    python scripts/fit_vecmath.py      (a developer tool: needs scipy and mpmath, which pyseq does not)

erfc, for the GELU's erf form: for z >= 0, erfc(z) = t * exp(-z^2 + h(t)) with t = 1 / (1 + z / 2)
in (0, 1]. h is smooth on [0, 1] (erfc(z) e^(z^2) ~ 1 / (z sqrt(pi)) as z grows, so h has a finite
limit at t = 0), and a least-squares Chebyshev fit in u = 2t - 1 of degree 14 is within 4e-10
relative of erfc, far below float32's 6e-8.

tanh, for |x| < 1: tanh(x) = x + x^3 P(x^2), P a degree-7 polynomial in u = x^2 in [0, 1], fitted
against 40-digit values (P itself is within 2e-9).

Prints each polynomial's coefficients, highest power first (for Horner).
"""

import mpmath
import numpy as np
from scipy.special import erfcx  # erfc(z) * exp(z^2), accurate where erfc itself underflows


def fit_erfc(degree=14):
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


def fit_tanh(degree=7):
    mpmath.mp.dps = 40

    def p_exact(u):  # (tanh(x) - x) / x^3 at x = sqrt(u)
        if u == 0:
            return -1.0 / 3
        x = mpmath.sqrt(mpmath.mpf(u))
        return float((mpmath.tanh(x) - x) / x**3)

    u = np.cos(np.linspace(0, np.pi, 4001)) * 0.5 + 0.5
    cheb = np.polynomial.chebyshev.chebfit(2 * u - 1, [p_exact(v) for v in u], degree)
    coef = np.polynomial.Polynomial(np.polynomial.chebyshev.cheb2poly(cheb))(np.polynomial.Polynomial([-1, 2])).coef
    uu = np.linspace(0, 1, 2001)
    worst = max(abs(np.polyval(coef[::-1], v) - p_exact(v)) for v in uu)
    return coef, f"max absolute error of P {worst:.2e}"


for name, fit in (("erfc h(t), in u = 2t - 1", fit_erfc), ("tanh P(u), u = x^2", fit_tanh)):
    coef, check = fit()
    print(f"{name}: degree {len(coef) - 1}, {check}")
    print(",\n".join(f"{c:.17g}" for c in coef[::-1]))
