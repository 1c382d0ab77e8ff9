"""The guided tour's six steps, as data: each a state of the page and a caption with its equation.

What a step does to the session is `decide.tour_at`; which model a step names is
`decide.tour_model` (by lambda, so the tour runs with whichever models are shipped); `tour`
draws the step on screen.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    title: str
    # Two lines. {lam}, {recon}, {kl}, {neg_elbo}, {units} are the explored model's figures; {holes} (the
    # prior's mass in holes), {recognised} (prior samples the classifier recognises), {covered} (digits
    # they cover), {path} (points of straight paths between test digits recognised) its measures
    # (explorer.story), and {holes_b}, {recognised_b} the compare view's second model's.
    caption: str
    equation: str  # LaTeX, shown with st.latex
    model: str  # "lam0" | "lam1" | "largest" (decide.tour_model)
    layers: tuple[str, ...] = ()  # of "ellipses", "prior", "holes", "decodability"
    grid: bool = False
    spacing: str = "even"  # "even" | "quantile"
    samples: bool = False
    compare: str | None = None  # the compare view's second model, named as `model`
    lock: bool = True  # the compare view's axes locked (one scale), or each plane at its own
    select: int | None = None  # the test digit selected, as a click on it would
    drag: tuple[int, int] | None = None  # the strip between these two test digits, as a drag would


# Test digits by index in the MNIST test set: 0 is a 7, 2 a 1, 3 a 0.
STEPS = (
    Step("The latent plane",
         "Each dot is one test digit x at the mean μ(x) of its code q(z|x), coloured by its label.  \n"
         "The encoder maps 784 pixels to a point of the plane; the decoder maps any z back to an image.",
         r"\small\begin{aligned} q_\phi(z \mid x) &= \mathcal{N}\big(\mu_\phi(x), \sigma^2_\phi(x)\big) \\"
         r" p(z) &= \mathcal{N}(0, I) \end{aligned}",
         model="lam1", grid=True, select=0),
    Step("The two terms of the ELBO",
         "This model (λ = {lam:g}) pays recon = {recon:.1f} nats to rebuild a test digit and KL = {kl:.2f} nats "
         "for its code;  \ntogether −ELBO = {neg_elbo:.1f} nats. The ellipses show σ of q(z|x): the KL's price.",
         r"\small\begin{aligned} -\mathcal{L}(x) &= \text{recon} + \text{KL} \\"
         r" \text{recon} &= \mathbb{E}_{q}\big[-\ln p_\theta(x \mid z)\big] \\"
         r" \text{KL} &= D_{KL}\big(q(z \mid x) \,\|\, p(z)\big) \end{aligned}",
         model="lam1", layers=("ellipses",), select=0),
    Step("λ = 0: codes become points; do the holes decode?",
         "Without the KL term nothing stops σ → 0 ({kl:.0f} nats of KL): each code is a point, and {holes:.0%} of "
         "the prior's mass falls in holes, where q(z) < 1% of p(z).  \nYet {recognised:.0%} of samples z ~ N(0, I) "
         "decode to a digit a classifier recognises ({covered} of 10 digits): hatched cells are where they do not.",
         r"\small\begin{aligned} \lambda = 0 &\Rightarrow \sigma_\phi(x) \to 0 \\"
         r" q(z) &= \tfrac{1}{N} \textstyle\sum_n q(z \mid x_n) \end{aligned}",
         model="lam0", layers=("decodability",), samples=True, select=0),
    Step("The KL term packs the codes toward N(0, I)",
         "Left λ = 0, right λ = 1, each at its own scale with the prior's circles: the KL term pulls every μ toward 0 "
         "and every σ toward 1.  \nThe prior's mass in holes falls from {holes:.0%} to {holes_b:.0%}; the prior's "
         "samples recognised as digits go from {recognised:.0%} to {recognised_b:.0%}.",
         r"\small\begin{aligned} \text{KL} = -\tfrac12 \textstyle\sum_j \big(& 1 + \ln\sigma_j^2 \\"
         r" & - \mu_j^2 - \sigma_j^2\big) \end{aligned}",
         model="lam0", compare="lam1", layers=("prior", "ellipses"), lock=False),
    Step("Large λ: posterior collapse",
         "At λ = {lam:g} the KL term wins: KL = {kl:.2f} nats, {units} active unit(s); every q(z|x) is "
         "nearly N(0, I),  \nthe codes say nothing about the digit and every z decodes to the same blur: "
         "{recognised:.0%} of prior samples are recognised as a digit.",
         r"\small\begin{aligned} \lambda \gg 1 &\Rightarrow q(z \mid x) \approx p(z) \\"
         r" &\Rightarrow \text{KL} \to 0 \end{aligned}",
         model="largest", layers=("ellipses", "prior"), samples=True),
    Step("Interpolation through the prior",
         "{recognised:.0%} of samples z ~ N(0, I) decode to a recognised digit ({covered} of 10 digits), and "
         "{path:.0%} of the points on straight lines between two test digits' codes do.  \nThe strip walks from a 0 "
         "to a 1 through the prior's mass; the grid is spaced by its quantiles.",
         r"\small\begin{aligned} z_t &= (1 - t)\,\mu(x_a) + t\,\mu(x_b) \\"
         r" \hat{x}_t &= \mathbb{E}\big[p_\theta(x \mid z_t)\big] \end{aligned}",
         model="lam1", layers=("prior",), grid=True, spacing="quantile", samples=True, drag=(3, 2)),
)
