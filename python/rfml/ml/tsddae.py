# SPDX-License-Identifier: GPL-3.0-or-later
"""TS-DDAE: temporal-spectral denoising diffusion pre-training (the forward process and loss).

Forward process (eq. 5 of the paper), for a normalised vector x0 (B, 2, L):

    x_t = sqrt(abar_t) x0 + beta_t eps + gamma_t eta,

eps ~ N(0, I) drawn in time; eta = F^-1(delta), delta ~ N(0, I) drawn in frequency
(Re and Im of the centred unitary spectrum, see ``tsnet.spectrum``), so eta is the spectral
noise of eqs. (1)-(3). The schedule is the reference's (b = linspace(5.45e-6, 0.0072, 3000),
abar = cumprod(1 - b)) with the split made variance preserving as the paper requires:
beta_t^2 + gamma_t^2 = 1 - abar_t and gamma_t / beta_t = sqrt(2) (the reference's ratio
0.586/0.414), so alpha^2 + beta^2 + gamma^2 = 1 at every step.

The temporal head predicts eps in the time domain; the spectral head predicts delta in the
frequency domain. White noise is white in both domains, so eps and eta are separable only
through their weights; the loss is the reference's, on the combined noise
eps + r eta with r = (gamma / beta)^2 = 2, taken in the time domain (eta_hat = F^-1(delta_hat)).
"""

import functools

import torch
import torch.nn.functional as F

from .tsnet import inverse_spectrum, normalize_power

MAX_STEP = 3000
MIN_NOISE = 5.45e-6
MAX_NOISE = 0.0072
SPECTRAL_TO_TEMPORAL = 2.0  # (gamma / beta)^2


class Schedule:
    """The noise schedule on one device.

    Args:
        device (str | torch.device): where the coefficient tables live.
    """

    def __init__(self, device="cpu"):
        b = torch.linspace(MIN_NOISE, MAX_NOISE, MAX_STEP, dtype=torch.float64)
        abar = torch.cumprod(1.0 - b, dim=0)
        noise = torch.sqrt(1.0 - abar)
        self.alpha = torch.sqrt(abar).float().to(device)
        self.beta = (noise / (1.0 + SPECTRAL_TO_TEMPORAL) ** 0.5).float().to(device)
        self.gamma = (noise * (SPECTRAL_TO_TEMPORAL / (1.0 + SPECTRAL_TO_TEMPORAL)) ** 0.5).float()
        self.gamma = self.gamma.to(device)

    def noise(self, x0, generator=None):
        """Draw (eps, delta, eta) for x0 (B, 2, L): eps in time, delta in frequency,
        eta = F^-1(delta) in time; each (B, 2, L), standard normal per component."""
        eps = torch.randn(x0.shape, generator=generator, device=x0.device)
        delta = torch.randn(x0.shape, generator=generator, device=x0.device)
        return eps, delta, inverse_spectrum(delta)

    def q_sample(self, x0, t, generator=None):
        """x_t for x0 (B, 2, L) at steps t (B,), with fresh noise."""
        eps, _, eta = self.noise(x0, generator)
        return self.mix(x0, t, eps, eta)

    def mix(self, x0, t, eps, eta):
        """sqrt(abar_t) x0 + beta_t eps + gamma_t eta; all (B, 2, L), t (B,)."""
        a, b, g = (c[t][:, None, None] for c in (self.alpha, self.beta, self.gamma))
        return a * x0 + b * eps + g * eta


@functools.lru_cache(maxsize=4)
def schedule(device):
    """The (cached) schedule on ``device``."""
    return Schedule(device)


def pretrain_loss(model, x, generator=None):
    """TS-DDAE loss of a TSNet on raw IQ x (B, 2, L): a random step per vector, noise in
    time and frequency, MSE between true and predicted combined noise eps + r eta."""
    x0 = normalize_power(x)
    sched = schedule(x.device)
    t = torch.randint(0, MAX_STEP, (x.shape[0],), generator=generator, device=x.device)
    eps, delta, eta = sched.noise(x0, generator)
    eps_hat, delta_hat = model.forward_denoise(sched.mix(x0, t, eps, eta), t)
    r = SPECTRAL_TO_TEMPORAL
    return F.mse_loss(eps_hat + r * inverse_spectrum(delta_hat), eps + r * eta)
