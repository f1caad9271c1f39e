/**
 * The queueing formulas of the capacity planner, and nothing else: Erlang C (M/M/c), the Allen–Cunneen
 * approximation for M/G/c, a log-normal service time fitted to a p50 and a p99, and the moments and
 * quantiles of the slowest of n such times (a batch whose records run side by side ends with its slowest).
 *
 * Notation: λ arrivals per second, S a service time (seconds), c servers, a = λ·E[S] the offered load in
 * busy servers, ρ = a / c the utilisation.
 */

/** Erlang B, the blocking probability of an M/M/c/c system, by the stable recursion B(k) = a·B(k-1) / (k + a·B(k-1)). */
export function erlangB(c: number, a: number): number {
  if (!Number.isInteger(c) || c < 1) throw new RangeError(`servers must be a whole number >= 1 (given ${c})`);
  if (!(a >= 0)) throw new RangeError(`offered load must be >= 0 (given ${a})`);
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  return b;
}

/**
 * Erlang C: the probability that an arrival waits in an M/M/c queue (all c servers busy), C = B / (1 - ρ(1 - B)).
 * 1 when the queue is unstable (a >= c).
 */
export function erlangC(c: number, a: number): number {
  if (a >= c) return 1;
  const b = erlangB(c, a);
  const rho = a / c;
  return b / (1 - rho * (1 - b));
}

export interface QueueWait {
  /** ρ = λ·E[S] / c. */
  utilisation: number;
  /** P(an arrival waits at all): Erlang C. */
  probabilityOfWaiting: number;
  /** Mean wait in the queue (seconds), over all arrivals (those that do not wait count as 0). */
  meanSeconds: number;
  /** Mean wait of those that wait (seconds). */
  meanIfWaitingSeconds: number;
  /** Median wait over all arrivals (0 when fewer than half wait). */
  medianSeconds: number;
  /** 95th percentile wait over all arrivals. */
  p95Seconds: number;
}

/**
 * The wait in an M/G/c queue, by Allen–Cunneen: Wq ≈ Wq(M/M/c) · (ca² + cs²) / 2, where ca² and cs² are
 * the squared coefficients of variation of the inter-arrival and service times (Poisson arrivals: ca² = 1;
 * exponential service: cs² = 1, which gives Erlang C exactly). Quantiles assume, as M/M/c has exactly,
 * that a wait happens with probability C and is then exponential with the mean that makes the overall
 * mean come out: P(W > t) = C · exp(-t / (Wq / C)).
 * Infinite waits when the queue is unstable (ρ >= 1).
 */
export function mgcWait(c: number, arrivalsPerSecond: number, meanServiceSeconds: number, serviceScv: number, arrivalScv = 1): QueueWait {
  const a = arrivalsPerSecond * meanServiceSeconds;
  const utilisation = a / c;
  if (utilisation >= 1) {
    return { utilisation, probabilityOfWaiting: 1, meanSeconds: Infinity, meanIfWaitingSeconds: Infinity, medianSeconds: Infinity, p95Seconds: Infinity };
  }
  const pWait = erlangC(c, a);
  const mmcMean = arrivalsPerSecond === 0 ? 0 : pWait / (c / meanServiceSeconds - arrivalsPerSecond);
  const meanSeconds = mmcMean * ((arrivalScv + serviceScv) / 2);
  const meanIfWaitingSeconds = pWait === 0 ? 0 : meanSeconds / pWait;
  return {
    utilisation,
    probabilityOfWaiting: pWait,
    meanSeconds,
    meanIfWaitingSeconds,
    medianSeconds: waitQuantile(0.5, pWait, meanIfWaitingSeconds),
    p95Seconds: waitQuantile(0.95, pWait, meanIfWaitingSeconds),
  };
}

/** The q-quantile of a wait that is 0 with probability 1 - pWait and else exponential with mean `meanIfWaiting`. */
export function waitQuantile(q: number, pWait: number, meanIfWaiting: number): number {
  const tail = 1 - q;
  return pWait <= tail ? 0 : meanIfWaiting * Math.log(pWait / tail);
}

/**
 * The distribution of busy servers in M/M/c (taken as an approximation for M/G/c): P(k busy) = p0·a^k/k!
 * for k < c, and P(c busy) = C(c, a). Returns the smallest k with P(busy <= k) >= q.
 */
export function busyServersQuantile(c: number, a: number, q: number): number {
  if (a >= c) return c;
  const pc = erlangC(c, a);
  // p0 from the normalisation: the k < c terms and the C share must sum to 1.
  const terms: number[] = [1];
  for (let k = 1; k < c; k++) terms.push((terms[k - 1]! * a) / k);
  const below = terms.reduce((s, t) => s + t, 0);
  let cumulative = 0;
  for (let k = 0; k < c; k++) {
    cumulative += ((1 - pc) * terms[k]!) / below;
    if (cumulative >= q) return k;
  }
  return c;
}

// ---- service times -------------------------------------------------------------------------------------

/** z of the standard normal's 99th percentile. */
export const Z99 = 2.3263478740408408;

/** erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7). */
export function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign * (1 - poly * Math.exp(-x * x));
}

export const normalCdf = (z: number) => 0.5 * (1 + erf(z / Math.SQRT2));

/** The inverse of the standard normal CDF (Acklam's rational approximation, relative error about 1e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1) (given ${p})`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * A log-normal service time, ln X ~ N(mu, sigma²), fitted so that its median is the p50 and its 99th
 * percentile the p99 (sigma = ln(p99/p50) / z99). p99 = p50 gives a constant (sigma 0). Handler durations
 * are skewed to the right (a floor, a long tail), which a log-normal has and an exponential (Erlang C's
 * assumption) overstates: an exponential's p99 is 6.6 times its median.
 */
export interface LogNormal {
  mu: number;
  sigma: number;
}

export function logNormalFromPercentiles(p50: number, p99: number): LogNormal {
  if (!(p50 > 0) || !(p99 >= p50)) throw new RangeError(`needs 0 < p50 <= p99 (given p50 ${p50}, p99 ${p99})`);
  return { mu: Math.log(p50), sigma: Math.log(p99 / p50) / Z99 };
}

export const logNormalMean = ({ mu, sigma }: LogNormal) => Math.exp(mu + (sigma * sigma) / 2);
/** The squared coefficient of variation, Var / Mean² = exp(sigma²) - 1. */
export const logNormalScv = ({ sigma }: LogNormal) => Math.expm1(sigma * sigma);
export const logNormalCdf = ({ mu, sigma }: LogNormal, x: number) => (x <= 0 ? 0 : sigma === 0 ? (x >= Math.exp(mu) ? 1 : 0) : normalCdf((Math.log(x) - mu) / sigma));
export const logNormalQuantile = ({ mu, sigma }: LogNormal, p: number) => Math.exp(mu + sigma * normalQuantile(p));

export interface Moments {
  mean: number;
  /** Squared coefficient of variation. */
  scv: number;
}

/**
 * Mean and squared coefficient of variation of the largest of n independent draws of `d`:
 * E[M] = ∫ (1 - F(x)^n) dx and E[M²] = ∫ 2x (1 - F(x)^n) dx, by the trapezoid rule on a fine grid up to
 * far beyond the distribution's 1 - 1e-9 quantile.
 */
export function maxOfMoments(d: LogNormal, n: number): Moments {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a whole number >= 1 (given ${n})`);
  if (n === 1) return { mean: logNormalMean(d), scv: logNormalScv(d) };
  if (d.sigma === 0) return { mean: Math.exp(d.mu), scv: 0 };
  const upper = logNormalQuantile(d, 1 - 1e-9 / n) * 1.5;
  const steps = 20_000;
  const h = upper / steps;
  let m1 = 0;
  let m2 = 0;
  for (let i = 0; i <= steps; i++) {
    const x = i * h;
    const survival = 1 - logNormalCdf(d, x) ** n;
    const w = i === 0 || i === steps ? 0.5 : 1;
    m1 += w * survival;
    m2 += w * 2 * x * survival;
  }
  m1 *= h;
  m2 *= h;
  return { mean: m1, scv: Math.max(0, m2 / (m1 * m1) - 1) };
}

/** The q-quantile of the largest of n independent draws: F(x)^n = q, so x = F⁻¹(q^(1/n)). */
export const maxOfQuantile = (d: LogNormal, n: number, q: number) => (d.sigma === 0 ? Math.exp(d.mu) : logNormalQuantile(d, q ** (1 / n)));
