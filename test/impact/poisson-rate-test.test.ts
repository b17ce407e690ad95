import { expect } from "chai";
import {
  clopperPearson,
  nullProportion,
  proportionToRatio,
  rateDropP,
  rateRatio,
  rateRatioInterval,
  rateRiseP,
} from "../../src/impact/poisson-rate-test.js";
import { exactLowerTail, exactUpperTail } from "./helpers.js";

const close = (actual: number, expected: number, relative = 1e-9) =>
  expect(Math.abs(actual - expected)).to.be.at.most(Math.abs(expected) * relative + 1e-15);

describe("poisson rate test", () => {
  describe("rateRiseP (H0: ratio ≤ ρ0)", () => {
    it("when kb=10 over 360 min and ka=10 over 60 min at ρ0=1, then p = P[Bin(20, 1/7) ≥ 10]", () => {
      // π = 60 / (60 + 360) = 1/7. Summing C(20,k)·1^k·6^(20−k) / 7^20 for k = 10..20 exactly
      // gives 0.000164168240673633 (also by hand: the k = 10 term, 184756·6^10/7^20, is 1.3e-4
      // and the rest add 3.3e-5).
      const p = rateRiseP({ count: 10, time: 60 }, { count: 10, time: 360 }, 1);
      close(p, exactUpperTail(20, 1, 6, 10));
      close(p, 0.000164168240673633, 1e-12);
    });

    it("when ρ0=1.5 with the same counts, then p = P[Bin(20, 1/5) ≥ 10]", () => {
      // π = 1.5·60 / (1.5·60 + 360) = 90/450 = 1/5: odds 1 : 4.
      const p = rateRiseP({ count: 10, time: 60 }, { count: 10, time: 360 }, 1.5);
      close(p, exactUpperTail(20, 1, 4, 10));
      close(p, 0.0025948274006740175, 1e-12);
    });

    it("when a larger null ratio is tested, then the p-value grows", () => {
      const after = { count: 30, time: 60 };
      const before = { count: 60, time: 360 };
      const p1 = rateRiseP(after, before, 1);
      const p15 = rateRiseP(after, before, 1.5);
      const p2 = rateRiseP(after, before, 2);
      expect(p1).to.be.below(p15);
      expect(p15).to.be.below(p2);
    });

    it("when the after count is 0, then p = 1", () => {
      expect(rateRiseP({ count: 0, time: 60 }, { count: 50, time: 360 })).to.equal(1);
      expect(rateRiseP({ count: 0, time: 60 }, { count: 0, time: 360 })).to.equal(1);
    });

    it("when the baseline count is 0, then p = π^ka (every error fell after)", () => {
      // P[Bin(3, 1/7) ≥ 3] = (1/7)^3 = 1/343.
      close(rateRiseP({ count: 3, time: 60 }, { count: 0, time: 360 }), 1 / 343);
    });

    it("when counts are not whole numbers, then p lies between the neighbouring whole counts", () => {
      const before = { count: 12.5, time: 360 };
      const p10 = rateRiseP({ count: 10, time: 60 }, before);
      const p105 = rateRiseP({ count: 10.5, time: 60 }, before);
      const p11 = rateRiseP({ count: 11, time: 60 }, before);
      expect(p105).to.be.below(p10);
      expect(p105).to.be.above(p11);
    });

    it("when a count is negative or a time is not positive, then it throws", () => {
      expect(() => rateRiseP({ count: -1, time: 60 }, { count: 1, time: 60 })).to.throw(RangeError);
      expect(() => rateRiseP({ count: 1, time: 0 }, { count: 1, time: 60 })).to.throw(RangeError);
      expect(() => rateRiseP({ count: 1, time: 60 }, { count: NaN, time: 60 })).to.throw(RangeError);
      expect(() => rateRiseP({ count: 1, time: 60 }, { count: 1, time: 60 }, 0)).to.throw(RangeError);
    });
  });

  describe("rateDropP (H0: ratio ≥ ρ0)", () => {
    it("when kb=30 over 360 min and ka=2 over 60 min at ρ0=1, then p = P[Bin(32, 1/7) ≤ 2]", () => {
      // Σ_{k=0..2} C(32,k)·6^(32−k) / 7^32 = 0.144923494412963.
      const p = rateDropP({ count: 2, time: 60 }, { count: 30, time: 360 }, 1);
      close(p, exactLowerTail(32, 1, 6, 2));
      close(p, 0.144923494412963, 1e-12);
    });

    it("when ρ0 = 2/3, then p = P[Bin(n, 1/10) ≤ ka] with π = 40/400", () => {
      // π = (2/3)·60 / ((2/3)·60 + 360) = 40/400 = 1/10: odds 1 : 9.
      const p = rateDropP({ count: 5, time: 60 }, { count: 120, time: 360 }, 2 / 3);
      close(p, exactLowerTail(125, 1, 9, 5));
    });

    it("when the baseline count is 0, then p = 1 (nothing to drop from)", () => {
      expect(rateDropP({ count: 0, time: 60 }, { count: 0, time: 360 })).to.equal(1);
      expect(rateDropP({ count: 4, time: 60 }, { count: 0, time: 360 })).to.equal(1);
    });

    it("when nothing happened after, then p = (1 − π)^kb", () => {
      // P[Bin(6, 1/7) ≤ 0] = (6/7)^6.
      close(rateDropP({ count: 0, time: 60 }, { count: 6, time: 360 }), (6 / 7) ** 6);
    });
  });

  describe("clopperPearson", () => {
    it("when 0 of 10, then the 95 % interval is [0, 0.3085]", () => {
      const [lo, hi] = clopperPearson(0, 10, 0.95);
      expect(lo).to.equal(0);
      // closed form: 1 − 0.025^(1/10)
      close(hi, 1 - 0.025 ** 0.1, 1e-9);
      expect(hi).to.be.closeTo(0.3085, 5e-5);
    });

    it("when 5 of 10, then the 95 % interval is [0.1871, 0.8129]", () => {
      const [lo, hi] = clopperPearson(5, 10, 0.95);
      expect(lo).to.be.closeTo(0.1871, 5e-5);
      expect(hi).to.be.closeTo(0.8129, 5e-5);
    });

    it("when 10 of 10, then the 95 % interval is [0.6915, 1]", () => {
      const [lo, hi] = clopperPearson(10, 10, 0.95);
      close(lo, 0.025 ** 0.1, 1e-9);
      expect(hi).to.equal(1);
    });

    it("when the bounds are fed back into the binomial tails, then each tail is α/2", () => {
      // Definition of Clopper-Pearson: P[X ≥ k | π_lo] = 0.025 and P[X ≤ k | π_hi] = 0.025.
      const [lo, hi] = clopperPearson(7, 20, 0.95);
      const tailAtLo = rateRiseP({ count: 7, time: lo }, { count: 13, time: 1 - lo });
      const tailAtHi = rateDropP({ count: 7, time: hi }, { count: 13, time: 1 - hi });
      close(tailAtLo, 0.025, 1e-6);
      close(tailAtHi, 0.025, 1e-6);
    });

    it("when nothing was observed, then nothing is known: [0, 1]", () => {
      expect(clopperPearson(0, 0)).to.deep.equal([0, 1]);
    });

    it("when k > n or confidence is out of range, then it throws", () => {
      expect(() => clopperPearson(3, 2)).to.throw(RangeError);
      expect(() => clopperPearson(1, 2, 1)).to.throw(RangeError);
    });
  });

  describe("rate ratio and its interval", () => {
    it("when 5 errors before and 5 after over equal times, then ×1 in [0.2302, 4.345]", () => {
      // The proportion interval [0.18709, 0.81291] mapped through π/(1−π).
      const after = { count: 5, time: 30 };
      const before = { count: 5, time: 30 };
      expect(rateRatio(after, before)).to.equal(1);
      const [lo, hi] = rateRatioInterval(after, before);
      expect(lo).to.be.closeTo(0.18709 / 0.81291, 1e-4);
      expect(hi).to.be.closeTo(0.81291 / 0.18709, 1e-3);
    });

    it("when the times differ, then the interval scales by tb/ta", () => {
      const [lo1, hi1] = rateRatioInterval({ count: 5, time: 30 }, { count: 5, time: 30 });
      const [lo6, hi6] = rateRatioInterval({ count: 5, time: 60 }, { count: 5, time: 360 });
      close(lo6, lo1 * 6);
      close(hi6, hi1 * 6);
      expect(rateRatio({ count: 5, time: 60 }, { count: 5, time: 360 })).to.equal(6);
    });

    it("when the baseline had no errors, then the ratio and the upper bound are Infinity", () => {
      const after = { count: 3, time: 60 };
      const before = { count: 0, time: 360 };
      expect(rateRatio(after, before)).to.equal(Infinity);
      const [lo, hi] = rateRatioInterval(after, before);
      expect(hi).to.equal(Infinity);
      // lower: π_lo = 0.025^(1/3) (3 of 3), turned into a ratio with tb/ta = 6
      const piLo = 0.025 ** (1 / 3);
      close(lo, (piLo / (1 - piLo)) * 6, 1e-9);
    });

    it("when there were no errors at all, then the ratio is NaN and the interval [0, Infinity]", () => {
      const after = { count: 0, time: 60 };
      const before = { count: 0, time: 360 };
      expect(rateRatio(after, before)).to.be.NaN;
      expect(rateRatioInterval(after, before)).to.deep.equal([0, Infinity]);
    });

    it("when no error fell after, then the ratio and the lower bound are 0", () => {
      const after = { count: 0, time: 60 };
      const before = { count: 12, time: 360 };
      expect(rateRatio(after, before)).to.equal(0);
      const [lo, hi] = rateRatioInterval(after, before);
      expect(lo).to.equal(0);
      // 0 of 12: π_hi = 1 − 0.025^(1/12) = 0.2644, ratio (π/(1−π))·(360/60) = 2.159
      const piHi = 1 - 0.025 ** (1 / 12);
      close(hi, (piHi / (1 - piHi)) * 6, 1e-9);
      expect(hi).to.be.closeTo(2.159, 1e-3);
    });

    it("when a proportion is turned into a ratio and back, then the null proportion is recovered", () => {
      const after = { count: 1, time: 60 };
      const before = { count: 1, time: 360 };
      close(proportionToRatio(nullProportion(after, before, 1.5), after, before), 1.5);
      expect(proportionToRatio(1, after, before)).to.equal(Infinity);
    });
  });
});
