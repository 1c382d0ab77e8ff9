// How the plane writes numbers for a person: a true minus sign (U+2212) and none on a zero, a latent
// point as (x, y), powers of ten with superscript exponents.

const SUPERSCRIPT = { "-": "\u207b", 0: "\u2070", 1: "\u00b9", 2: "\u00b2", 3: "\u00b3", 4: "\u2074", 5: "\u2075",
                      6: "\u2076", 7: "\u2077", 8: "\u2078", 9: "\u2079" };

/** v with `digits` decimals and a true minus sign; a value that rounds to zero has no sign. */
export function number(v, digits = 3) {
  const s = v.toFixed(digits);
  return (Number(s) === 0 ? s.replace("-", "") : s).replace("-", "\u2212");
}

/** 10 to the integer power k, as "10⁻⁴⁰". */
export const powerOfTen = (k) => `10${[...String(k)].map((c) => SUPERSCRIPT[c]).join("")}`;

/** A latent point as "(x, y)". */
export const point = (z, digits = 3) => `(${number(z[0], digits)}, ${number(z[1], digits)})`;
