// The planner's queueing formulas against textbook values, closed forms and a small simulation.
import { describe, expect, it } from 'vitest';
import {
  busyServersQuantile,
  erf,
  erlangB,
  erlangC,
  logNormalFromPercentiles,
  logNormalMean,
  logNormalQuantile,
  logNormalScv,
  maxOfMoments,
  maxOfQuantile,
  mgcWait,
  normalQuantile,
  waitQuantile,
  Z99,
} from '../../planner/queueing';
import { Prng } from '../support/prng';

/** Erlang C by its defining sum, as textbooks write it: (a^c/c!)·(c/(c-a)) / (Σ_{k<c} a^k/k! + (a^c/c!)·(c/(c-a))). */
function erlangCBySum(c: number, a: number): number {
  let term = 1;
  let sum = 0;
  for (let k = 0; k < c; k++) {
    sum += term;
    term = (term * a) / (k + 1);
  }
  const top = term * (c / (c - a));
  return top / (sum + top);
}

describe('Erlang B and C', () => {
  it('match textbook values', () => {
    // Erlang B tables: 5 servers, 3 erlangs: 11.0% blocked.
    expect(erlangB(5, 3)).toBeCloseTo(0.11005, 5);
    // M/M/3 with a = 2 erlangs: P(wait) = 4/9 (p0 = 1/9).
    expect(erlangC(3, 2)).toBeCloseTo(4 / 9, 10);
    // M/M/2 at ρ = 0.5: 2ρ²/(1+ρ) = 1/3; at ρ = 0.8: 0.7111.
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 10);
    expect(erlangC(2, 1.6)).toBeCloseTo(1.28 / 1.8, 10);
    // M/M/1: P(wait) = ρ.
    expect(erlangC(1, 0.7)).toBeCloseTo(0.7, 10);
    // The call-centre classic: 10 agents, 8 erlangs offered, 40.9% of calls wait.
    expect(erlangC(10, 8)).toBeCloseTo(0.4092, 4);
  });

  it('agree with the defining sum, up to hundreds of servers', () => {
    for (const [c, a] of [
      [4, 3.2],
      [20, 15],
      [100, 95],
      [300, 240],
    ] as const)
      expect(erlangC(c, a)).toBeCloseTo(erlangCBySum(c, a), 9);
    expect(erlangC(1000, 900)).toBeGreaterThan(0);
    expect(erlangC(1000, 900)).toBeLessThan(1);
  });

  it('is 1 when the queue is unstable', () => {
    expect(erlangC(2, 2)).toBe(1);
    expect(erlangC(2, 3)).toBe(1);
    expect(() => erlangB(0, 1)).toThrow(RangeError);
  });
});

describe('waits in M/G/c (Allen–Cunneen)', () => {
  it('is M/M/c exactly for exponential service: Wq = C / (cμ - λ)', () => {
    const w = mgcWait(2, 8, 0.2, 1); // μ = 5/s per server, ρ = 0.8
    expect(w.utilisation).toBeCloseTo(0.8, 12);
    expect(w.meanSeconds).toBeCloseTo(erlangC(2, 1.6) / (10 - 8), 12);
    // M/M/c waits: P(W > t) = C·exp(-(cμ-λ)t), so the median is ln(2C)/(cμ-λ).
    expect(w.medianSeconds).toBeCloseTo(Math.log(2 * erlangC(2, 1.6)) / 2, 12);
  });

  it('is Pollaczek–Khinchine exactly for M/G/1: Wq = ρ·E[S]·(1 + cs²) / (2(1 - ρ))', () => {
    expect(mgcWait(1, 4, 0.2, 0).meanSeconds).toBeCloseTo((0.8 * 0.2) / (2 * 0.2), 12); // M/D/1
    expect(mgcWait(1, 4, 0.2, 0.5).meanSeconds).toBeCloseTo((0.8 * 0.2 * 1.5) / (2 * 0.2), 12);
  });

  it('is infinite when the servers cannot keep up, and 0 without arrivals', () => {
    expect(mgcWait(2, 10, 0.2, 1).meanSeconds).toBe(Infinity);
    expect(mgcWait(2, 0, 0.2, 1).meanSeconds).toBe(0);
  });

  it('quantiles: 0 when fewer arrivals wait than the quantile leaves', () => {
    expect(waitQuantile(0.5, 0.4, 1)).toBe(0);
    expect(waitQuantile(0.5, 1, 1)).toBeCloseTo(Math.log(2), 12);
  });

  // The mean is Allen–Cunneen's; the quantiles take the wait as exponential, which M/M/c's is. For a constant
  // service time the median comes out about 20% low (fewer very short waits than an exponential has); the p95
  // and the mean stay within a few percent. docs/planner.md gives these numbers.
  it('is within 10% (mean, p95) and 25% (median) of a simulation of M/D/2, M/G/2 and M/G/3 (log-normal service) at ρ = 0.8', () => {
    for (const [c, p50, p99, medianError] of [
      [2, 0.2, 0.2, 0.25],
      [2, 0.2, 0.8, 0.1],
      [3, 0.2, 0.6, 0.2],
    ] as const) {
      const service = logNormalFromPercentiles(p50, p99);
      const lambda = (0.8 * c) / logNormalMean(service);
      const simulated = simulateMgc(c, lambda, () => logNormalQuantile(service, Math.min(1 - 1e-12, Math.max(1e-12, prng.next()))), 400_000);
      const planned = mgcWait(c, lambda, logNormalMean(service), logNormalScv(service));
      expect(Math.abs(planned.meanSeconds / simulated.mean - 1)).toBeLessThan(0.1);
      expect(Math.abs(planned.p95Seconds / simulated.p95 - 1)).toBeLessThan(0.1);
      expect(Math.abs(planned.medianSeconds / simulated.median - 1)).toBeLessThan(medianError);
    }
  });
});

const prng = new Prng(20261207);

/** First-come first-served c servers, Poisson arrivals: the queue waits of n arrivals (after a warm-up). */
function simulateMgc(c: number, lambda: number, draw: () => number, n: number): { mean: number; median: number; p95: number } {
  const free = Array.from({ length: c }, () => 0);
  let t = 0;
  const waits: number[] = [];
  for (let i = 0; i < n; i++) {
    t += -Math.log(1 - prng.next()) / lambda;
    let k = 0;
    for (let j = 1; j < c; j++) if (free[j]! < free[k]!) k = j;
    const start = Math.max(t, free[k]!);
    free[k] = start + draw();
    if (i >= n / 10) waits.push(start - t);
  }
  waits.sort((a, b) => a - b);
  return { mean: waits.reduce((s, w) => s + w, 0) / waits.length, median: waits[Math.floor(waits.length / 2)]!, p95: waits[Math.floor(waits.length * 0.95)]! };
}

describe('busy servers', () => {
  it('the q-quantile of busy servers in M/M/c', () => {
    // M/M/2 at a = 1.6: P(0) = 0.1111, P(1) = 0.1778, P(2 busy) = C = 0.7111.
    expect(busyServersQuantile(2, 1.6, 0.1)).toBe(0);
    expect(busyServersQuantile(2, 1.6, 0.25)).toBe(1);
    expect(busyServersQuantile(2, 1.6, 0.99)).toBe(2);
    // Light load on many servers: the p99 is far below c.
    expect(busyServersQuantile(100, 10, 0.99)).toBeLessThan(20);
    expect(busyServersQuantile(100, 10, 0.99)).toBeGreaterThan(10);
  });
});

describe('service times', () => {
  it('erf and the normal quantile', () => {
    expect(erf(1)).toBeCloseTo(0.8427007929, 6);
    expect(erf(-0.5)).toBeCloseTo(-0.5204998778, 6);
    expect(normalQuantile(0.99)).toBeCloseTo(Z99, 7);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306, 6);
  });

  it('a log-normal fitted to p50 and p99 has them back', () => {
    const d = logNormalFromPercentiles(100, 400);
    expect(logNormalQuantile(d, 0.5)).toBeCloseTo(100, 6);
    expect(logNormalQuantile(d, 0.99)).toBeCloseTo(400, 4);
    expect(logNormalMean(d)).toBeGreaterThan(100);
    expect(logNormalScv(logNormalFromPercentiles(100, 100))).toBe(0);
    expect(() => logNormalFromPercentiles(100, 50)).toThrow(RangeError);
  });

  it('the slowest of n: its moments against a Monte Carlo, its quantile in closed form', () => {
    const d = logNormalFromPercentiles(100, 300);
    expect(maxOfMoments(d, 1).mean).toBeCloseTo(logNormalMean(d), 9);
    const n = 10;
    const draws = Array.from({ length: 100_000 }, () => Math.max(...Array.from({ length: n }, () => logNormalQuantile(d, Math.min(1 - 1e-12, Math.max(1e-12, prng.next()))))));
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    const scv = draws.reduce((s, x) => s + (x - mean) ** 2, 0) / draws.length / mean ** 2;
    const m = maxOfMoments(d, n);
    expect(m.mean / mean).toBeCloseTo(1, 2);
    expect(Math.abs(m.scv - scv)).toBeLessThan(0.01);
    draws.sort((a, b) => a - b);
    expect(maxOfQuantile(d, n, 0.5) / draws[50_000]!).toBeCloseTo(1, 1);
    expect(maxOfMoments(logNormalFromPercentiles(50, 50), 10).mean).toBeCloseTo(50, 9);
  });
});
