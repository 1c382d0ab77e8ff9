// How the plane writes numbers for a person: a true minus sign (U+2212), and a latent point as (x, y).

/** v with `digits` decimals and a true minus sign. */
export const number = (v, digits = 3) => v.toFixed(digits).replace("-", "\u2212");

/** A latent point as "(x, y)". */
export const point = (z, digits = 3) => `(${number(z[0], digits)}, ${number(z[1], digits)})`;
