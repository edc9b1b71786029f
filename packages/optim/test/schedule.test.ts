// Schedules against their closed forms (Optax's formulas at count = step - 1), boundaries included.
import { Optimizer, Schedule } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

const close = (got: number, want: number) => expect(got).toBeCloseTo(want, 14)

describe("schedules", () => {
  it("constant", () => {
    const s = Schedule.constant(0.3)
    for (const step of [1, 2, 1000]) expect(s(step)).toBe(0.3)
  })

  it("linear: init + (end - init) min(step - 1, steps) / steps", () => {
    const s = Schedule.linear({ init: 1, end: 0.2, steps: 8 })
    expect(s(1)).toBe(1)
    close(s(3), 1 - 0.8 * 2 / 8)
    close(s(9), 0.2)
    close(s(100), 0.2)
    expect(() => Schedule.linear({ init: 0, end: 1, steps: 1.5 })).toThrow(/steps/)
  })

  it("exponentialDecay: init * rate^((step - 1) / steps), floored with staircase", () => {
    const s = Schedule.exponentialDecay({ init: 2, rate: 0.5, steps: 10 })
    expect(s(1)).toBe(2)
    close(s(6), 2 * 0.5 ** 0.5)
    close(s(11), 1)
    close(s(21), 0.5)
    const st = Schedule.exponentialDecay({ init: 2, rate: 0.5, steps: 10, staircase: true })
    expect(st(1)).toBe(2)
    expect(st(10)).toBe(2)
    expect(st(11)).toBe(1)
    expect(st(20)).toBe(1)
    expect(st(21)).toBe(0.5)
    expect(() => Schedule.exponentialDecay({ init: 1, rate: 0.5, steps: 0 })).toThrow(/steps/)
  })

  it("cosineDecay: init ((1 - alpha) (1 + cos(pi c / steps)) / 2 + alpha), c = min(step - 1, steps)", () => {
    const s = Schedule.cosineDecay({ init: 0.1, steps: 100, alpha: 0.1 })
    expect(s(1)).toBe(0.1)
    close(s(51), 0.1 * (0.9 * 0.5 + 0.1)) // half way: cos(pi / 2) = 0
    close(s(26), 0.1 * (0.9 * 0.5 * (1 + Math.SQRT1_2) + 0.1))
    close(s(101), 0.01)
    close(s(500), 0.01)
    close(Schedule.cosineDecay({ init: 1, steps: 4 })(5), 0)
  })

  it("warmupCosineDecay: linear warmup to peak, cosine to end, decaySteps counting the warmup", () => {
    const s = Schedule.warmupCosineDecay({ init: 0.01, peak: 1, warmupSteps: 10, decaySteps: 110, end: 0.1 })
    expect(s(1)).toBe(0.01)
    close(s(6), 0.01 + 0.99 * 5 / 10)
    close(s(10), 0.01 + 0.99 * 9 / 10)
    close(s(11), 1) // the peak after warmupSteps updates
    close(s(61), 0.1 + 0.9 * 0.5) // half of the 100 decay updates
    close(s(111), 0.1)
    close(s(1000), 0.1)
    const noWarmup = Schedule.warmupCosineDecay({ init: 0, peak: 1, warmupSteps: 0, decaySteps: 4 })
    expect(noWarmup(1)).toBe(1)
    close(noWarmup(3), 0.5)
    expect(() => Schedule.warmupCosineDecay({ init: 0, peak: 1, warmupSteps: 10, decaySteps: 10 })).toThrow(
      /decaySteps/
    )
  })

  it("piecewiseConstant multiplies by each scale once its boundary's updates are done", () => {
    const s = Schedule.piecewiseConstant(1, [[3, 0.5], [5, 0.1]])
    expect([1, 2, 3, 4, 5, 6, 7].map(s)).toEqual([1, 1, 1, 0.5, 0.5, 0.05, 0.05])
  })

  it("joinSchedules runs each schedule from its own step 1 after the previous boundary", () => {
    const warm = (step: number) => (step - 1) / 4
    const s = Schedule.joinSchedules([warm, Schedule.constant(7), (step) => 100 + step], [4, 6])
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(s)).toEqual([0, 0.25, 0.5, 0.75, 7, 7, 101, 102])
    expect(() => Schedule.joinSchedules([warm], [3])).toThrow(/boundary/)
  })

  it("is an optimizer's learning rate: the first update gets the schedule's first value", () => {
    const lr = Schedule.exponentialDecay({ init: 0.1, rate: 0.5, steps: 1, staircase: true })
    const opt = Optimizer.sgd({ learningRate: lr })
    const params = { w: Tensor.fromArray([0], [1], { dtype: "float64" }) }
    let state = opt.init(params)
    const got: Array<number> = []
    for (let i = 0; i < 3; i++) {
      const [u, next] = opt.update({ w: Tensor.fromArray([1], [1], { dtype: "float64" }) }, state, params)
      got.push(Tensor.toArray(u.w)[0]!)
      state = next
    }
    expect(got).toEqual([-0.1, -0.05, -0.025])
  })
})
