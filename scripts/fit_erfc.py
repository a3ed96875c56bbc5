"""Fits the erfc polynomial used by the vectorised GELU (cpp/src/kernels/cpu/vecmath_isa.inc).

    python scripts/fit_erfc.py      (a developer tool: needs scipy, which pyseq does not)

For z >= 0, erfc(z) = t * exp(-z^2 + h(t)) with t = 1 / (1 + z / 2) in (0, 1]. h is smooth on
[0, 1] (erfc(z) e^(z^2) ~ 1 / (z sqrt(pi)) as z grows, so h has a finite limit at t = 0), and a
least-squares Chebyshev fit in u = 2t - 1 of degree 14 is within 4e-10 relative of erfc, far
below float32's 6e-8. Prints the monomial coefficients in u, highest power first (for Horner).
"""

import numpy as np
from scipy.special import erfcx  # erfc(z) * exp(z^2), accurate where erfc itself underflows

DEGREE = 14

u_nodes = np.cos(np.linspace(0, np.pi, 20001))  # dense near both ends of [-1, 1]
t = (u_nodes + 1) / 2
t = t[t > 1e-6]
z = 2 / t - 2
h = np.log(erfcx(z) / t)
coef = np.polynomial.chebyshev.cheb2poly(np.polynomial.chebyshev.chebfit(2 * t - 1, h, DEGREE))

# Check on a fine grid of z up to 1e6 (t down to 2e-6).
zz = np.concatenate([np.linspace(0, 12, 200001), np.geomspace(12, 1e6, 2000)])
tt = 1 / (1 + zz / 2)
worst = np.abs(np.exp(np.polyval(coef[::-1], 2 * tt - 1)) * tt / erfcx(zz) - 1).max()
print(f"degree {DEGREE}: max relative error of erfc {worst:.2e}")
for c in coef[::-1]:
    print(f"{c:.17g},")
